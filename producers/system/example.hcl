# The machine: CPU, load, memory, swap, network, disk I/O, file systems.
producer "system" {}

# File systems: leave out NFS mounts too, and everything under /mnt/backup.
# (exclude_fs_types replaces the default list: repeat the types you keep
# excluding.)
# producer "system" {
#   exclude_fs_types = ["nfs", "nfs4", "tmpfs", "devtmpfs", "overlay", "squashfs"]
#   exclude_mounts   = ["/dev", "/proc", "/sys", "/mnt/backup"]
# }
