# host: process with pid and pidfile (Configure refuses it)
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "process" {
  pid     = 1
  pidfile = "/run/x.pid"
}
