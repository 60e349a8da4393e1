# host: an unknown attribute of the file
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
nicknam = "typo"
