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

producer "load_monitor" {}
producer "cpu_monitor" {}
producer "process" {}
# producer "disk" { path = "/var/lib/tahoe/storage" }
