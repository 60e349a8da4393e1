# A Tahoe-LAFS node on this machine: its web root is read from node.url in
# its base directory at every collect, so a restart on another port is
# followed.
producer "tahoe" {
  node_dir = "/var/lib/tahoe/node"
}
