# host: an unknown attribute of a built-in producer
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "disk" {
  path  = "{{dir}}"
  bogus = 1
}
