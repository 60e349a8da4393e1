poll_interval = "6O s"

output "prometheus" {
  listen = 9469
}
