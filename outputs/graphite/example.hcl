output "graphite" {
  address  = "127.0.0.1:2003"
  template = "statsherd.{nickname}.{name}"
  labels   = "tags"

  dir             = "graphite"
  queue_max_bytes = 1073741824
  queue_max_age   = "24h"
  batch_lines     = 5000
  concurrency     = 4
  request_timeout = "30s"
  min_backoff     = "500ms"
  max_backoff     = "30s"

  # carbon behind a TLS terminator (stunnel, haproxy, nginx stream):
  # tls         = true
  # tls_ca_file = "/etc/statsherd/carbon-ca.pem"
}
