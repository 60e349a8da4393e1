# gatherer: prometheus on port 99999 (the issue's example: validate passed it, the daemon refused it)
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "prometheus" { listen = "127.0.0.1:99999" }
