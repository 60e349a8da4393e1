# Operator graphs used by the golden tests.
graph "myapp_requests" {
  stat   = "uploader.files_uploaded"
  kind   = "counter"
  title  = "Files uploaded (operator graph)"
  vlabel = "files per $${graph_period}"
  category = "myapp"
}

graph "myapp_peak" {
  stat  = "load_monitor.max_load"
  kind  = "stat"
  draw  = "AREA"
  max   = 10
  info  = "Peak reactor delay, as an area"
}
