package host_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleCost measures the CPU and memory of an idle host with 5 producer
// plugins over STATSHERD_IDLE_SECONDS seconds (60 for the figures in
// host/README.md), polled once a minute as a gatherer would. It is a
// measurement, not a check: it logs the figures and fails only if it
// cannot measure.
//
//	STATSHERD_IDLE_SECONDS=60 go test -run TestIdleCost -v ./host
func TestIdleCost(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("STATSHERD_IDLE_SECONDS"))
	if secs <= 0 {
		t.Skip("a measurement: set STATSHERD_IDLE_SECONDS=60 to run it")
	}
	d := startDaemon(t, `
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "load_monitor" {}
producer "uptime" {}
producer "cpu_monitor" {}
producer "process" {}
producer "disk" { path = "/" }
`)
	st, _ := d.poll(time.Second)
	if len(st.Stats) == 0 {
		t.Fatal("no stats")
	}
	time.Sleep(2 * time.Second) // let start-up settle
	before := cpuTicks(t, d.cmd.Process.Pid)
	start := time.Now()
	for el := time.Duration(0); el < time.Duration(secs)*time.Second; el = time.Since(start) {
		time.Sleep(min(time.Minute, time.Duration(secs)*time.Second-el))
		d.poll(time.Second)
	}
	after := cpuTicks(t, d.cmd.Process.Pid)
	el := time.Since(start).Seconds()
	for _, who := range []string{"host", "plugins"} {
		cpu := float64(after[who]-before[who]) / 100 // USER_HZ
		t.Logf("%-7s CPU %.2fs over %.0fs = %.3f%% of one core; RSS %.1f MiB",
			who, cpu, el, 100*cpu/el, float64(rss(t, d.cmd.Process.Pid, who == "plugins"))/1024)
	}
}

// cpuTicks is the user+system CPU time, in clock ticks, of the host pid and
// of its children (the plugins).
func cpuTicks(t *testing.T, pid int) map[string]int64 {
	out := map[string]int64{}
	out["host"] = procTicks(t, pid)
	for _, c := range children(pid) {
		out["plugins"] += procTicks(t, c)
	}
	return out
}

func procStat(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
}

func procTicks(t *testing.T, pid int) int64 {
	f := procStat(pid)
	if len(f) < 13 {
		t.Fatalf("cannot read /proc/%d/stat", pid)
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(n); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// rss is the resident memory in KiB of the host, or of its plugins together.
func rss(t *testing.T, pid int, plugins bool) int64 {
	pids := []int{pid}
	if plugins {
		pids = children(pid)
	}
	var total int64
	for _, p := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				total += n
			}
		}
	}
	return total
}
