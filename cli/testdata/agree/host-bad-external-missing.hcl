# host: a plugin executable that does not exist
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "mine" { plugin = "{{dir}}/no-such-plugin" }
