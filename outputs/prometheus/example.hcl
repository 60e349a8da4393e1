output "prometheus" {
  listen      = "127.0.0.1:9469"
  prefix      = "statsherd"
  stale_after = "5m"
}
