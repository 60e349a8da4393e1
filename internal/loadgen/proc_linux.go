package loadgen

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// readProc reads pid's memory, CPU and name; ok is false once it is gone.
func readProc(pid int) (p proc, ok bool) {
	if pid <= 0 {
		return p, false
	}
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/status")
	if err != nil {
		return p, false
	}
	p.pid = pid
	p.rss, p.peak = parseStatus(b)
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		p.cpu = parseStatCPU(b)
	}
	if b, err := os.ReadFile(dir + "/cmdline"); err == nil {
		p.name = procName(b)
	}
	return p, true
}

// descendants lists every process below pid (the gatherer's output
// plugins), children before grandchildren.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 1024 {
		p := queue[0]
		queue = queue[1:]
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(p) + "/task/*/children")
		for _, t := range tasks {
			b, _ := os.ReadFile(t)
			for _, f := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(f); err == nil {
					out = append(out, n)
					queue = append(queue, n)
				}
			}
		}
	}
	return out
}

// resetPeak makes pid's VmHWM its current RSS (Linux 4.0 and later), so
// that the next reading of it is the peak since now.
func resetPeak(pid int) error {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0)
}
