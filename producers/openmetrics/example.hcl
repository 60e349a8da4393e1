# node_exporter's numbers, scraped at every poll, with their labels.
producer "openmetrics" {
  url             = "http://127.0.0.1:9100/metrics"
  sample_limit    = 20000
  body_size_limit = 16777216
  scrape_timeout  = "5s"
  labels          = { job = "node" }
  honor_labels    = false
}
