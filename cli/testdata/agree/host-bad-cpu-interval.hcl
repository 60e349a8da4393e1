# host: cpu_monitor interval below its minimum (Configure refuses it)
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "cpu_monitor" { interval = "1ms" }
