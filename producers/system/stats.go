package system

import (
	"strings"

	"github.com/statsherd/statsherd/sdk"
)

// cpuModes are the modes of /proc/stat's cpu line, in its order.
var cpuModes = []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}

func counter(name, unit, desc string) sdk.StatInfo {
	return sdk.StatInfo{Name: name, Kind: sdk.Counter, Unit: unit, Description: desc}
}

func gauge(name, unit, desc string) sdk.StatInfo {
	return sdk.StatInfo{Name: name, Kind: sdk.Stat, Unit: unit, Description: desc}
}

// statInfo lists what the producer emits (made when asked, not held by
// the process: the shared built-ins process links this producer whether
// it runs it or not). A name with labels (each
// CPU, interface, disk, mount point) follows node_exporter's: its name
// with "node_" made "system." and "_total" dropped (the prometheus output
// adds it back), and seconds made whole milliseconds, since counters are
// integers. The machine-wide totals, which munin graphs, have no labels
// and keep their own names.
func statInfo() []sdk.StatInfo {
	var s []sdk.StatInfo
	for _, m := range cpuModes {
		s = append(s, counter("system.cpu."+m+"_ms", "milliseconds", "CPU time spent in "+m+" mode, summed over all CPUs"))
	}
	s = append(s,
		counter("system.cpu.time_ms", "milliseconds", "CPU time of one CPU in one mode (labels cpu, mode; node_cpu_seconds_total)"),
		gauge("system.cpu.count", "CPUs", "CPUs online"),
		gauge("system.load.1min", "processes", "load average over 1 minute"),
		gauge("system.load.5min", "processes", "load average over 5 minutes"),
		gauge("system.load.15min", "processes", "load average over 15 minutes"),
		gauge("system.memory.total_bytes", "bytes", "MemTotal"),
		gauge("system.memory.free_bytes", "bytes", "MemFree"),
		gauge("system.memory.available_bytes", "bytes", "MemAvailable: what can be had without swapping"),
		gauge("system.memory.buffers_bytes", "bytes", "Buffers"),
		gauge("system.memory.cached_bytes", "bytes", "Cached plus SReclaimable (free's buff/cache less buffers)"),
		gauge("system.memory.used_bytes", "bytes", "total − available"),
		gauge("system.swap.total_bytes", "bytes", "SwapTotal"),
		gauge("system.swap.free_bytes", "bytes", "SwapFree"),
		gauge("system.swap.used_bytes", "bytes", "total − free"),
		counter("system.context_switches", "switches", "context switches since boot"),
		counter("system.forks", "processes", "processes created since boot"),
		gauge("system.procs_running", "processes", "processes runnable now"),
		gauge("system.procs_blocked", "processes", "processes blocked on I/O now"),
		gauge("system.boot_time", "seconds since the epoch", "when the machine booted"),
	)
	for i, n := range netNames {
		w := netWhat[i%4]
		dir, done := "receive", "received"
		if i >= 4 {
			dir, done = "transmit", "sent"
		}
		desc := w.desc
		if desc == "" {
			desc = w.unit + " " + done
		}
		s = append(s,
			counter("system.network."+n, w.unit, desc+" on the interface (label device; node_network_"+n+"_total)"),
			counter("system.net."+netTotalNames[i], w.unit, strings.ReplaceAll(desc, "DIR", dir)+" on all interfaces but lo"))
	}
	for i, c := range diskWhat {
		total := c.desc + ", all disks but device-mapper and md (whose I/O their disks count)"
		s = append(s,
			counter("system.disk."+diskNames[i], c.unit, c.desc+" (label device; node_disk_"+c.node+"_total)"),
			counter("system.disk."+diskTotalNames[i], c.unit, total))
	}
	s = append(s, gauge("system.disk.io_now", "operations", "I/Os in flight now (label device; node_disk_io_now)"))
	for _, c := range []struct{ name, unit, desc string }{
		{"size_bytes", "bytes", "size of the file system"},
		{"free_bytes", "bytes", "free space, including root's reserve"},
		{"avail_bytes", "bytes", "free space for unprivileged users (df's Avail)"},
		{"used_bytes", "bytes", "size − free (df's Used)"},
		{"files", "inodes", "inodes"},
		{"files_free", "inodes", "free inodes"},
		{"readonly", "boolean", "1 when mounted read-only"},
	} {
		s = append(s, gauge("system.filesystem."+c.name, c.unit, c.desc+" (label mountpoint)"))
	}
	return s
}

// netNames are the per-interface counters, node_exporter's names for
// /proc/net/dev's columns; netTotalNames the same columns' totals.
var (
	netNames = [8]string{"receive_bytes", "receive_packets", "receive_errs", "receive_drop",
		"transmit_bytes", "transmit_packets", "transmit_errs", "transmit_drop"}
	netTotalNames = [8]string{"receive_bytes", "receive_packets", "receive_errors", "receive_drops",
		"transmit_bytes", "transmit_packets", "transmit_errors", "transmit_drops"}
	netWhat = [4]struct{ unit, desc string }{{"bytes", ""}, {"packets", ""}, {"errors", "DIR errors"}, {"packets", "packets dropped on DIR"}}
)

// diskNames are the per-disk counters, node_exporter's names (seconds
// made milliseconds); diskTotalNames the totals' names.
var (
	diskNames      = [7]string{"reads_completed", "writes_completed", "read_bytes", "written_bytes", "read_time_ms", "write_time_ms", "io_time_ms"}
	diskTotalNames = [7]string{"reads", "writes", "bytes_read", "bytes_written", "read_ms", "write_ms", "io_ms"}
	diskWhat       = [7]struct{ unit, desc, node string }{
		{"operations", "reads completed", "reads_completed"},
		{"operations", "writes completed", "writes_completed"},
		{"bytes", "bytes read", "read_bytes"},
		{"bytes", "bytes written", "written_bytes"},
		{"milliseconds", "time spent reading", "read_time_seconds"},
		{"milliseconds", "time spent writing", "write_time_seconds"},
		{"milliseconds", "time the device was busy", "io_time_seconds"},
	}
)
