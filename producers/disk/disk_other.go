//go:build !linux

package disk

import (
	"fmt"
	"runtime"
)

// statfs is implemented for Linux only.
func statfs(path string) (fsStats, error) {
	return fsStats{}, fmt.Errorf("disk: statfs of %s: not implemented on %s", path, runtime.GOOS)
}
