nickname = "test-node"

producer "uptime" {}
