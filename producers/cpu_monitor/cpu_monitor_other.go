//go:build !linux

package cpu_monitor

import (
	"fmt"
	"runtime"
)

// readStat needs /proc: cpu_monitor measures processes on Linux only.
func readStat(procRoot string, pid int) ([]byte, error) {
	return nil, fmt.Errorf("cpu_monitor reads /proc, which %s does not have", runtime.GOOS)
}

func clockTicks() int64 { return 100 }
