# gatherer: a prefix that is no metric name
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "prometheus" {
  listen = "127.0.0.1:0"
  prefix = "9lives"
}
