# node.uptime: seconds since the host started. It takes no attributes.
producer "uptime" {}
