# gatherer: remote_write without its url
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "remote_write" {}
