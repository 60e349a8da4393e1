# host: statsd on a non-loopback address
basedir = "{{dir}}/host"
reporting {
  statsd = "0.0.0.0:0"
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "uptime" {}
