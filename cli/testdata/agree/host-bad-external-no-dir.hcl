# host: the third-party producer without its dir (its Configure refuses it)
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "dir_count" { plugin = "{{dircount}}" }
