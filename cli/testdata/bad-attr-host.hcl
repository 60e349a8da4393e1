nickname = "test-node"

producer "uptime" {
  colour = "red"
}
