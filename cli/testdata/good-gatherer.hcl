poll_interval = "30s"

output "prometheus" {
  listen = "127.0.0.1:0"
}
