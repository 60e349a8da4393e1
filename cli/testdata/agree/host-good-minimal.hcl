# host: the smallest host with a producer
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "uptime" {}
