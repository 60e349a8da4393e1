output "influxdb" {
  # InfluxDB 1.x: a database and (optionally) a retention policy.
  url              = "http://127.0.0.1:8086"
  database         = "statsherd"
  retention_policy = "month"
  # username      = "statsherd"
  # password_file = "/etc/statsherd/influxdb.password"

  # InfluxDB 2.x instead: org, bucket and a token.
  # org        = "ops"
  # bucket     = "statsherd"
  # token_file = "/etc/statsherd/influxdb.token"

  prefix = "statsherd"
  tags   = { gatherer = "eu-1" }
  gzip   = true

  dir             = "influxdb"
  queue_max_bytes = 1073741824
  queue_max_age   = "24h"
  batch_lines     = 1000
  concurrency     = 4
  request_timeout = "30s"
  min_backoff     = "500ms"
  max_backoff     = "30s"
}
