# gatherer: remote_write to a receiver that is not there (yet)
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "remote_write" {
  url = "http://127.0.0.1:1/api/v1/write"
  dir = "remote_write"
}
