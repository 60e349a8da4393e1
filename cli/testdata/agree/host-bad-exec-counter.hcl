# host: exec naming an invalid counter (Configure refuses it)
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "exec" {
  command  = ["/bin/true"]
  counters = ["not a name!"]
}
