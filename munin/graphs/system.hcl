# Machine graphs for munin, from the "system" producer (producers/system).
# A graph set for statsherd-munin (munin/README.md, "Your own graphs"):
# each graph draws one stat, one line per node that has it. Use it with
#
#   [system_*]
#   env.statsfile /var/lib/statsherd-gatherer/stats.json
#   env.graphs    /usr/share/statsherd/munin/system.hcl
#
# in plugin-conf.d, and link the graphs with
#
#   graphs=/usr/share/statsherd/munin/system.hcl statsherd-munin install-links /etc/munin/plugins
#
# Per CPU, interface, disk or mount, copy a block and name the series'
# folded name in its stat (see the end of this file). To graph your own as well, copy this
# file into yours: env.graphs names one file.

# CPU time by mode, all CPUs: 1000 ms/s is one CPU busy in that mode.

graph "system_cpu_user" {
  stat     = "system.cpu.user_ms"
  kind     = "counter"
  title    = "Machine CPU: user"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent running user code, summed over all CPUs of the machine (system.cpu.user_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_nice" {
  stat     = "system.cpu.nice_ms"
  kind     = "counter"
  title    = "Machine CPU: nice"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent running user code at low priority, summed over all CPUs of the machine (system.cpu.nice_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_system" {
  stat     = "system.cpu.system_ms"
  kind     = "counter"
  title    = "Machine CPU: system"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent in the kernel, summed over all CPUs of the machine (system.cpu.system_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_iowait" {
  stat     = "system.cpu.iowait_ms"
  kind     = "counter"
  title    = "Machine CPU: iowait"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent idle, waiting for I/O, summed over all CPUs of the machine (system.cpu.iowait_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_irq" {
  stat     = "system.cpu.irq_ms"
  kind     = "counter"
  title    = "Machine CPU: irq"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent serving interrupts, summed over all CPUs of the machine (system.cpu.irq_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_softirq" {
  stat     = "system.cpu.softirq_ms"
  kind     = "counter"
  title    = "Machine CPU: softirq"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent serving soft interrupts, summed over all CPUs of the machine (system.cpu.softirq_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_steal" {
  stat     = "system.cpu.steal_ms"
  kind     = "counter"
  title    = "Machine CPU: steal"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent taken by the hypervisor for other guests, summed over all CPUs of the machine (system.cpu.steal_ms)."
  args     = "--base 1000 -l 0"
}

graph "system_cpu_idle" {
  stat     = "system.cpu.idle_ms"
  kind     = "counter"
  title    = "Machine CPU: idle"
  vlabel   = "ms/s (1000 = one CPU)"
  category = "system"
  info     = "CPU time spent idle, summed over all CPUs of the machine (system.cpu.idle_ms)."
  args     = "--base 1000 -l 0"
}

# Load, processes.

graph "system_load_1min" {
  stat     = "system.load.1min"
  kind     = "stat"
  title    = "Machine load average, 1 min"
  vlabel   = "load"
  category = "system"
  info     = "The kernel's load average over 1 minute: runnable plus uninterruptible processes (system.load.1min)."
  args     = "--base 1000 -l 0"
}

graph "system_load_5min" {
  stat     = "system.load.5min"
  kind     = "stat"
  title    = "Machine load average, 5 min"
  vlabel   = "load"
  category = "system"
  info     = "The kernel's load average over 5 minutes: runnable plus uninterruptible processes (system.load.5min)."
  args     = "--base 1000 -l 0"
}

graph "system_load_15min" {
  stat     = "system.load.15min"
  kind     = "stat"
  title    = "Machine load average, 15 min"
  vlabel   = "load"
  category = "system"
  info     = "The kernel's load average over 15 minutes: runnable plus uninterruptible processes (system.load.15min)."
  args     = "--base 1000 -l 0"
}

graph "system_procs_running" {
  stat     = "system.procs_running"
  kind     = "stat"
  title    = "Machine processes running"
  vlabel   = "processes"
  category = "system"
  info     = "Processes runnable now (system.procs_running)."
  args     = "--base 1000 -l 0"
}

graph "system_procs_blocked" {
  stat     = "system.procs_blocked"
  kind     = "stat"
  title    = "Machine processes blocked"
  vlabel   = "processes"
  category = "system"
  info     = "Processes blocked on I/O now (system.procs_blocked)."
  args     = "--base 1000 -l 0"
}

graph "system_forks" {
  stat     = "system.forks"
  kind     = "counter"
  title    = "Machine forks"
  vlabel   = "processes/$${graph_period}"
  category = "system"
  info     = "Processes created (system.forks)."
  args     = "--base 1000 -l 0"
}

graph "system_context_switches" {
  stat     = "system.context_switches"
  kind     = "counter"
  title    = "Machine context switches"
  vlabel   = "switches/$${graph_period}"
  category = "system"
  info     = "Context switches (system.context_switches)."
  args     = "--base 1000 -l 0"
}

# Memory.

graph "system_memory_used" {
  stat     = "system.memory.used_bytes"
  kind     = "stat"
  title    = "Machine memory used"
  vlabel   = "bytes"
  category = "system"
  info     = "Memory in use: total less available, as free(1) counts it (system.memory.used_bytes)."
  args     = "--base 1024 -l 0"
}

graph "system_memory_available" {
  stat     = "system.memory.available_bytes"
  kind     = "stat"
  title    = "Machine memory available"
  vlabel   = "bytes"
  category = "system"
  info     = "Memory that can be had without swapping (MemAvailable) (system.memory.available_bytes)."
  args     = "--base 1024 -l 0"
}

graph "system_memory_cached" {
  stat     = "system.memory.cached_bytes"
  kind     = "stat"
  title    = "Machine page cache"
  vlabel   = "bytes"
  category = "system"
  info     = "Page cache and reclaimable slab (system.memory.cached_bytes)."
  args     = "--base 1024 -l 0"
}

graph "system_memory_total" {
  stat     = "system.memory.total_bytes"
  kind     = "stat"
  title    = "Machine memory size"
  vlabel   = "bytes"
  category = "system"
  info     = "MemTotal (system.memory.total_bytes)."
  args     = "--base 1024 -l 0"
}

graph "system_swap_used" {
  stat     = "system.swap.used_bytes"
  kind     = "stat"
  title    = "Machine swap used"
  vlabel   = "bytes"
  category = "system"
  info     = "Swap in use (system.swap.used_bytes)."
  args     = "--base 1024 -l 0"
}

# Network, all interfaces but lo.

graph "system_net_receive_bytes" {
  stat     = "system.net.receive_bytes"
  kind     = "counter"
  title    = "Machine network received"
  vlabel   = "bytes/s"
  category = "system"
  info     = "Bytes received on every interface but lo (system.net.receive_bytes)."
  args     = "--base 1000 -l 0"
}

graph "system_net_receive_errors" {
  stat     = "system.net.receive_errors"
  kind     = "counter"
  title    = "Machine network receive errors"
  vlabel   = "errors/$${graph_period}"
  category = "system"
  info     = "Errors on receive, every interface but lo (system.net.receive_errors)."
  args     = "--base 1000 -l 0"
}

graph "system_net_receive_drops" {
  stat     = "system.net.receive_drops"
  kind     = "counter"
  title    = "Machine network receive drops"
  vlabel   = "packets/$${graph_period}"
  category = "system"
  info     = "Drops on receive, every interface but lo (system.net.receive_drops)."
  args     = "--base 1000 -l 0"
}

graph "system_net_transmit_bytes" {
  stat     = "system.net.transmit_bytes"
  kind     = "counter"
  title    = "Machine network sent"
  vlabel   = "bytes/s"
  category = "system"
  info     = "Bytes sent on every interface but lo (system.net.transmit_bytes)."
  args     = "--base 1000 -l 0"
}

graph "system_net_transmit_errors" {
  stat     = "system.net.transmit_errors"
  kind     = "counter"
  title    = "Machine network transmit errors"
  vlabel   = "errors/$${graph_period}"
  category = "system"
  info     = "Errors on transmit, every interface but lo (system.net.transmit_errors)."
  args     = "--base 1000 -l 0"
}

graph "system_net_transmit_drops" {
  stat     = "system.net.transmit_drops"
  kind     = "counter"
  title    = "Machine network transmit drops"
  vlabel   = "packets/$${graph_period}"
  category = "system"
  info     = "Drops on transmit, every interface but lo (system.net.transmit_drops)."
  args     = "--base 1000 -l 0"
}

# Disk I/O, all disks (device-mapper and md devices left out: their disks count their I/O).

graph "system_disk_read_bytes" {
  stat     = "system.disk.bytes_read"
  kind     = "counter"
  title    = "Machine disk read"
  vlabel   = "bytes/s"
  category = "system"
  info     = "Bytes read from the disks (system.disk.bytes_read)."
  args     = "--base 1000 -l 0"
}

graph "system_disk_written_bytes" {
  stat     = "system.disk.bytes_written"
  kind     = "counter"
  title    = "Machine disk written"
  vlabel   = "bytes/s"
  category = "system"
  info     = "Bytes written to the disks (system.disk.bytes_written)."
  args     = "--base 1000 -l 0"
}

graph "system_disk_reads" {
  stat     = "system.disk.reads"
  kind     = "counter"
  title    = "Machine disk reads"
  vlabel   = "reads/s"
  category = "system"
  info     = "Reads completed (system.disk.reads)."
  args     = "--base 1000 -l 0"
}

graph "system_disk_writes" {
  stat     = "system.disk.writes"
  kind     = "counter"
  title    = "Machine disk writes"
  vlabel   = "writes/s"
  category = "system"
  info     = "Writes completed (system.disk.writes)."
  args     = "--base 1000 -l 0"
}

graph "system_disk_io_ms" {
  stat     = "system.disk.io_ms"
  kind     = "counter"
  title    = "Machine disk busy time"
  vlabel   = "ms/s (1000 = one disk always busy)"
  category = "system"
  info     = "Time the disks were busy, added up (system.disk.io_ms)."
  args     = "--base 1000 -l 0"
}

# The root file system. munin has no labels: it sees the series
# system.filesystem.avail_bytes{mountpoint="/"} under its folded name,
# system.filesystem.avail_bytes.mountpoint__ (the label's "name:value"
# with every byte outside [A-Za-z0-9_-] made "_"). Other mounts: copy
# these, folding the mount point likewise (/var/lib/tahoe is
# system.filesystem.avail_bytes.mountpoint__var_lib_tahoe).

graph "system_fs_root_avail" {
  stat     = "system.filesystem.avail_bytes.mountpoint__"
  kind     = "stat"
  title    = "Root file system available"
  vlabel   = "bytes"
  category = "system"
  info     = "Space an unprivileged process may still use on / (df's Avail) (system.filesystem.avail_bytes{mountpoint=\"/\"})."
  args     = "--base 1024 -l 0"
}

graph "system_fs_root_used" {
  stat     = "system.filesystem.used_bytes.mountpoint__"
  kind     = "stat"
  title    = "Root file system used"
  vlabel   = "bytes"
  category = "system"
  info     = "Space used on / (df's Used) (system.filesystem.used_bytes{mountpoint=\"/\"})."
  args     = "--base 1024 -l 0"
}

graph "system_fs_root_size" {
  stat     = "system.filesystem.size_bytes.mountpoint__"
  kind     = "stat"
  title    = "Root file system size"
  vlabel   = "bytes"
  category = "system"
  info     = "Size of / (df's 1B-blocks) (system.filesystem.size_bytes{mountpoint=\"/\"})."
  args     = "--base 1024 -l 0"
}

graph "system_fs_root_files_free" {
  stat     = "system.filesystem.files_free.mountpoint__"
  kind     = "stat"
  title    = "Root file system free inodes"
  vlabel   = "inodes"
  category = "system"
  info     = "Free inodes on / (system.filesystem.files_free{mountpoint=\"/\"})."
  args     = "--base 1000 -l 0"
}

# Per device, for example (commented out: the names are this machine's):
#
# graph "system_net_eth0_receive_bytes" {
#   stat     = "system.network.receive_bytes.device_eth0"
#   kind     = "counter"
#   title    = "eth0 received"
#   vlabel   = "bytes/s"
#   category = "system"
# }
# graph "system_disk_sda_io_ms" {
#   stat     = "system.disk.io_time_ms.device_sda"
#   kind     = "counter"
#   title    = "sda busy time"
#   vlabel   = "ms/s (1000 = always busy)"
#   category = "system"
# }
