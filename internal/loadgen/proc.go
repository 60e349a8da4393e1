package loadgen

import (
	"path/filepath"
	"strconv"
	"strings"
)

// proc is what the load tool reads of a process in /proc (Linux).
type proc struct {
	pid       int
	name      string  // the plugin name for `statsherd plugin serve KIND NAME`, else the command
	rss, peak int64   // VmRSS and VmHWM, bytes (VmHWM since the last resetPeak)
	cpu       float64 // user + system CPU seconds since it started
}

// parseStatus returns VmRSS and VmHWM from /proc/PID/status, in bytes.
func parseStatus(b []byte) (rss, peak int64) {
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's CPU times,
// 100 on every architecture Go supports.
const clockTicks = 100

// parseStatCPU returns utime + stime from /proc/PID/stat, in seconds. The
// command (field 2) may hold spaces and parentheses, so fields are
// counted after its last ')'.
func parseStatCPU(b []byte) float64 {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clockTicks
}

// procName names a process by its command line: the plugin's name for a
// built-in plugin (`statsherd plugin serve output munin` → "munin"), else
// the program's base name.
func procName(cmdline []byte) string {
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) == 5 && args[1] == "plugin" && args[2] == "serve" {
		return args[4]
	}
	if len(args) == 0 || args[0] == "" {
		return "?"
	}
	return filepath.Base(args[0])
}

// tree is a gatherer process and its plugin processes at one moment.
type tree struct {
	gatherer proc
	plugins  []proc
}

func readTree(pid int) tree {
	var t tree
	t.gatherer, _ = readProc(pid)
	for _, c := range descendants(pid) {
		if p, ok := readProc(c); ok {
			t.plugins = append(t.plugins, p)
		}
	}
	return t
}

// resetPeaks resets the peak RSS of every process of t; false if one
// could not be reset (its peak then stays the peak since it started).
func (t tree) resetPeaks() bool {
	ok := t.gatherer.pid == 0 || resetPeak(t.gatherer.pid) == nil
	for _, p := range t.plugins {
		ok = resetPeak(p.pid) == nil && ok
	}
	return ok
}

// peakTotal sums the peak RSS of every process of t: an upper bound of
// their peak together (their peaks need not coincide).
func (t tree) peakTotal() int64 {
	n := t.gatherer.peak
	for _, p := range t.plugins {
		n += p.peak
	}
	return n
}

// plugins sums the plugin processes' RSS and CPU.
func (t tree) pluginTotals() (rss int64, cpu float64) {
	for _, p := range t.plugins {
		rss += p.rss
		cpu += p.cpu
	}
	return rss, cpu
}

// pluginCPU is the CPU seconds of the plugins named name.
func (t tree) pluginCPU(name string) (cpu float64, found bool) {
	for _, p := range t.plugins {
		if p.name == name {
			cpu += p.cpu
			found = true
		}
	}
	return cpu, found
}

// memOf returns the resident and peak resident memory of a process, in
// bytes (0 if unknown).
func memOf(pid int) (rss, peak int64) {
	p, _ := readProc(pid)
	return p.rss, p.peak
}
