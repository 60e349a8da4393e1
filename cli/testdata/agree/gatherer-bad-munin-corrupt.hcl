# gatherer: a snapshot that exists and is not JSON
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "munin" { path = "{{dir}}/corrupt.json" }
