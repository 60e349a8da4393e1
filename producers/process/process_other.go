//go:build !linux

package process

import (
	"fmt"
	"runtime"
)

// readStatus needs /proc: process measures processes on Linux only.
func readStatus(procRoot string, pid int) ([]byte, error) {
	return nil, fmt.Errorf("process reads /proc, which %s does not have", runtime.GOOS)
}
