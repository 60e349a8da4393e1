# host: a third-party producer (examples/example-producer)
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "dir_count" {
  plugin = "{{dircount}}"
  dir    = "{{dir}}"
}
