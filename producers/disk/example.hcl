# Space on the file system holding a Tahoe storage server's shares.
producer "disk" {
  path           = "/var/lib/tahoe/storage"
  reserved_space = 1000000000 # keep 1 GB free
}
