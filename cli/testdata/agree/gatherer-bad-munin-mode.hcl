# gatherer: a snapshot mode that is not octal
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "munin" {
  path = "stats.json"
  mode = "0999"
}
