# host: a producer no plugin serves
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "no_such_producer" {}
