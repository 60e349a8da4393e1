# host: a duration that is not one
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
poll_timeout = "6O s"
