//go:build linux

package system

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture writes a /proc and /sys tree for a machine with n interfaces
// (plus lo), n disks (each with a partition, plus loop0 and dm-0) and n
// mounted file systems (real directories under dir, so that statfs
// answers), and returns the proc and sys paths.
func fixture(t testing.TB, dir string, n int) (proc, sys string) {
	t.Helper()
	proc, sys = filepath.Join(dir, "proc"), filepath.Join(dir, "sys")
	write := func(path, s string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("cpu  1000 20 300 40000 50 6 7 8 0 0\n")
	for i := range 4 {
		fmt.Fprintf(&b, "cpu%d 250 5 75 10000 12 1 2 2 0 0\n", i)
	}
	b.WriteString("intr 12345 0 0\nctxt 987654\nbtime 1764000000\nprocesses 4321\nprocs_running 3\nprocs_blocked 1\nsoftirq 1 0 0 0 0 0 0 0 0 0 0\n")
	write(filepath.Join(proc, "stat"), b.String())
	write(filepath.Join(proc, "loadavg"), "0.25 0.50 1.75 2/345 6789\n")
	write(filepath.Join(proc, "meminfo"), "MemTotal:       16000000 kB\nMemFree:         4000000 kB\nMemAvailable:   10000000 kB\nBuffers:          500000 kB\nCached:          5000000 kB\nSwapCached:            0 kB\nSwapTotal:       2000000 kB\nSwapFree:        1500000 kB\nSReclaimable:     250000 kB\n")
	b.Reset()
	b.WriteString("Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
	b.WriteString("    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n")
	for i := range n {
		fmt.Fprintf(&b, "  eth%d: %d %d %d %d 0 0 0 0 %d %d %d %d 0 0 0 0\n", i, 100000*(i+1), 100*(i+1), i, 2*i, 50000*(i+1), 50*(i+1), 3*i, 4*i)
	}
	write(filepath.Join(proc, "net", "dev"), b.String())
	b.Reset()
	fmt.Fprintf(&b, "   7       0 loop0 5 0 10 1 0 0 0 0 0 1 1 0 0 0 0 0 0\n")
	for i := range n {
		d := fmt.Sprintf("sd%c", 'a'+i)
		fmt.Fprintf(&b, "   8 %7d %s %d 10 %d 30 %d 50 %d 70 0 %d 110 0 0 0 0 0 0\n", 16*i, d, 1000*(i+1), 2000*(i+1), 400*(i+1), 800*(i+1), 900*(i+1))
		fmt.Fprintf(&b, "   8 %7d %s1 1 0 2 0 1 0 2 0 0 1 1 0 0 0 0 0 0\n", 16*i+1, d)
		write(filepath.Join(sys, "block", d, "stat"), "")
	}
	fmt.Fprintf(&b, " 253       0 dm-0 7 0 14 0 7 0 14 0 0 1 1 0 0 0 0 0 0\n")
	write(filepath.Join(proc, "diskstats"), b.String())
	write(filepath.Join(sys, "block", "loop0", "stat"), "")
	write(filepath.Join(sys, "block", "dm-0", "stat"), "")
	b.Reset()
	b.WriteString("22 27 0:21 / /proc rw,relatime - proc proc rw\n")
	b.WriteString("25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw\n")
	for i := range n {
		mnt := filepath.Join(dir, "mnt", fmt.Sprintf("data%d", i))
		if err := os.MkdirAll(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d 1 8:%d / %s rw,relatime shared:1 - ext4 /dev/sd%c1 rw\n", 100+i, 16*i+1, mnt, 'a'+i)
	}
	write(filepath.Join(proc, "self", "mountinfo"), b.String())
	return proc, sys
}
