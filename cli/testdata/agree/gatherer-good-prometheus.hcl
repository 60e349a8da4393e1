# gatherer: prometheus on a free port
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "prometheus" { listen = "127.0.0.1:0" }
