# host: most built-in producers
basedir = "{{dir}}/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "load_monitor" {}
producer "cpu_monitor" {}
producer "disk" { path = "{{dir}}" }
producer "process" { pid = 1 }
producer "upload_helper" {
  incoming_dir = "{{dir}}"
  encoding_dir = "{{dir}}"
}
producer "exec" { command = ["/bin/echo", "{}"] }
