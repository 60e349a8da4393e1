# statsherd host: copy to /etc/statsherd/host.hcl and edit. Check it with
#   statsherd validate /etc/statsherd/host.hcl
# then: systemctl enable --now statsherd-host. host/README.md lists every
# attribute; producers/README.md every producer.
nickname = "storage-01"                # the node's name in munin and the outputs
basedir  = "/var/lib/statsherd"        # node key (its id) and register socket

# The gatherer: its stats_gatherer.furl, copied here (mode 0640, group statsherd).
gatherer { furl_file = "/etc/statsherd/stats_gatherer.furl" }

# Loopback listeners for node software (statsd counters) and the status
# page; a second host on this machine needs other ports and basedir.
reporting { statsd = "127.0.0.1:8125" }
status { listen = "127.0.0.1:8127" }

# The machine: CPU by mode, load, memory, swap, network, disks, file systems.
producer "system" {}
# A Tahoe-LAFS node on this machine: its own counters and stats, from its
# web port (node.url in its base directory).
# producer "tahoe" { node_dir = "/var/lib/tahoe/node" }
# Tahoe's graphs tahoe_runtime_load_*: how late a timer in statsherd's
# producer process fires (not the machine's load: that is system).
producer "load_monitor" {}
# The CPU and memory of one process: the host itself, unless given a pid
# or pidfile (not the machine's: that is system).
producer "cpu_monitor" {}
producer "process" {}
# producer "disk" { path = "/var/lib/tahoe/storage" }
