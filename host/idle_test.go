package host_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestIdleCost measures the CPU and memory of an idle host with the five
// built-in producers over STATSHERD_IDLE_SECONDS seconds (300 for the
// figures in host/README.md), polled once a minute as a gatherer would:
// the number of processes (the host and all its descendants), the sum of
// their VmRSS, and of their PSS (shared pages of the one executable counted
// once), and their CPU per minute. STATSHERD_IDLE_BINARY runs another
// statsherd binary instead of the tree's (to measure an older version the
// same way). It is a measurement, not a check: it logs the figures and
// fails only if it cannot measure.
//
//	STATSHERD_IDLE_SECONDS=300 go test -timeout 20m -run TestIdleCost -v ./host
func TestIdleCost(t *testing.T) {
	secs, _ := strconv.Atoi(os.Getenv("STATSHERD_IDLE_SECONDS"))
	if secs <= 0 {
		t.Skip("a measurement: set STATSHERD_IDLE_SECONDS=300 to run it")
	}
	bin := bins.statsherd
	if b := os.Getenv("STATSHERD_IDLE_BINARY"); b != "" {
		bin = b
	}
	d := startDaemonBin(t, bin, `
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
`+builtinsHCL, nil)
	st, _ := d.poll(time.Second)
	if len(st.Stats) == 0 {
		t.Fatal("no stats")
	}
	time.Sleep(15 * time.Second) // let start-up settle
	report := func(when string) {
		pids := descendants(d.cmd.Process.Pid)
		var rssKiB, pssKiB int64
		for _, p := range pids {
			rssKiB += statusKiB(p, "status", "VmRSS:")
			pssKiB += statusKiB(p, "smaps_rollup", "Pss:")
		}
		t.Logf("%s: %d processes, VmRSS %.1f MiB in all (PSS %.1f MiB)", when, len(pids), float64(rssKiB)/1024, float64(pssKiB)/1024)
	}
	report("after start-up")
	before := ticks(t, descendants(d.cmd.Process.Pid))
	start := time.Now()
	for el := time.Duration(0); el < time.Duration(secs)*time.Second; el = time.Since(start) {
		time.Sleep(min(time.Minute, time.Duration(secs)*time.Second-el))
		d.poll(time.Second)
	}
	after := ticks(t, descendants(d.cmd.Process.Pid))
	el := time.Since(start)
	cpu := float64(after-before) / 100 // USER_HZ
	t.Logf("CPU %.2f s over %.0f s: %.0f ms per minute", cpu, el.Seconds(), 1000*cpu/el.Minutes())
	report(fmt.Sprintf("after %.0f s idle, polled once a minute", el.Seconds()))
}

// descendants is pid and all the processes below it.
func descendants(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children(out[i])...)
	}
	return out
}

// ticks is the user+system CPU time, in clock ticks, of pids together.
func ticks(t *testing.T, pids []int) int64 {
	var n int64
	for _, p := range pids {
		n += procTicks(t, p)
	}
	return n
}

// statusKiB reads the "key  N kB" line of /proc/PID/file.
func statusKiB(pid int, file, key string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
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
