# host: statsd on a loopback port
basedir = "{{dir}}/host"
reporting {
  statsd = "127.0.0.1:0"
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "uptime" {}
