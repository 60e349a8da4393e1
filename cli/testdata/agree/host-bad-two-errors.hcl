# host: two mistakes, one in the file and one in a producer: both reported
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
nicknam = "typo"
producer "cpu_monitor" { interval = "1ms" }
