output "remote_write" {
  url    = "http://127.0.0.1:8428/api/v1/write"
  labels = { gatherer = "eu-1" }

  dir             = "remote_write"
  queue_max_bytes = 1073741824
  queue_max_age   = "24h"
  batch_samples   = 5000
  concurrency     = 4
  request_timeout = "30s"
  min_backoff     = "500ms"
  max_backoff     = "30s"

  # basic_auth_user          = "statsherd"
  # basic_auth_password_file = "/etc/statsherd/remote_write.password"
  # bearer_token_file        = "/etc/statsherd/remote_write.token"
  # tls_ca_file              = "/etc/statsherd/store-ca.pem"
}
