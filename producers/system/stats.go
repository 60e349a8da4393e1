package system

import "github.com/statsherd/statsherd/sdk"

// cpuModes are the modes of /proc/stat's cpu line, in its order.
var cpuModes = []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"}

func counter(name, unit, desc string) sdk.StatInfo {
	return sdk.StatInfo{Name: name, Kind: sdk.Counter, Unit: unit, Description: desc}
}

func gauge(name, unit, desc string) sdk.StatInfo {
	return sdk.StatInfo{Name: name, Kind: sdk.Stat, Unit: unit, Description: desc}
}

// statInfo lists what the producer emits; IFACE, DEVICE and MOUNT stand
// for each interface, disk and mount point.
var statInfo = func() []sdk.StatInfo {
	var s []sdk.StatInfo
	for _, m := range cpuModes {
		s = append(s, counter("system.cpu."+m+"_ms", "milliseconds", "CPU time spent in "+m+" mode, summed over all CPUs"))
	}
	s = append(s,
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
	for _, d := range []struct{ dir, done string }{{"receive", "received"}, {"transmit", "sent"}} {
		for _, what := range []struct{ name, unit, desc string }{
			{"bytes", "bytes", "bytes " + d.done},
			{"packets", "packets", "packets " + d.done},
			{"errors", "errors", d.dir + " errors"},
			{"drops", "packets", "packets dropped on " + d.dir},
		} {
			s = append(s,
				counter("system.net.IFACE."+d.dir+"_"+what.name, what.unit, what.desc+" on the interface"),
				counter("system.net."+d.dir+"_"+what.name, what.unit, what.desc+" on all interfaces but lo"))
		}
	}
	for _, c := range []struct{ name, unit, desc string }{
		{"reads", "operations", "reads completed"},
		{"writes", "operations", "writes completed"},
		{"read_bytes", "bytes", "bytes read"},
		{"written_bytes", "bytes", "bytes written"},
		{"read_ms", "milliseconds", "time spent reading"},
		{"write_ms", "milliseconds", "time spent writing"},
		{"io_ms", "milliseconds", "time the device was busy"},
	} {
		s = append(s,
			counter("system.disk.DEVICE."+c.name, c.unit, c.desc),
			counter("system.disk."+c.name, c.unit, c.desc+", all disks but device-mapper and md (whose I/O their disks count)"))
	}
	s = append(s, gauge("system.disk.DEVICE.in_progress", "operations", "I/Os in flight now"))
	for _, c := range []struct{ name, unit, desc string }{
		{"size_bytes", "bytes", "size of the file system"},
		{"free_bytes", "bytes", "free space, including root's reserve"},
		{"avail_bytes", "bytes", "free space for unprivileged users (df's Avail)"},
		{"used_bytes", "bytes", "size − free (df's Used)"},
		{"files", "inodes", "inodes"},
		{"files_free", "inodes", "free inodes"},
		{"readonly", "boolean", "1 when mounted read-only"},
	} {
		s = append(s, gauge("system.fs.MOUNT."+c.name, c.unit, c.desc))
	}
	return s
}()
