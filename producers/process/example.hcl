# Memory of the host itself (the default: no attributes).
producer "process" {}

# Memory of a Tahoe node, followed across restarts through its pidfile.
producer "process" {
  pidfile = "/var/lib/tahoe/twistd.pid"
}
