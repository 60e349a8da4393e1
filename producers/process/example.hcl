# Memory of a Tahoe node, followed across restarts through its pidfile.
# With no attributes (producer "process" {}), the host's own memory.
# A host file holds one block of each name.
producer "process" {
  pidfile = "/var/lib/tahoe/twistd.pid"
}
