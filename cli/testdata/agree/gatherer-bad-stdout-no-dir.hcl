# gatherer: stdout into a file in a missing directory
basedir = "{{gdir}}"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "stdout" { path = "{{dir}}/missing/rounds.log" }
