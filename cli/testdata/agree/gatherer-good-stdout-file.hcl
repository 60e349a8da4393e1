# gatherer: stdout into a file
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "stdout" { path = "{{dir}}/rounds.log" }
