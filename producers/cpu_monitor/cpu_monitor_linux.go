package cpu_monitor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// readStat reads /proc/PID/stat under procRoot.
func readStat(procRoot string, pid int) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("process is not running: %w", err)
	}
	return b, err
}

// atClkTck is the auxiliary vector entry holding sysconf(_SC_CLK_TCK).
const atClkTck = 17

// clockTicks returns the unit of the times in /proc/PID/stat, from this
// process's auxiliary vector (Go has no sysconf without cgo), or Linux's
// USER_HZ of 100 if it cannot be read.
func clockTicks() int64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	return parseAuxv(b, atClkTck, 100)
}

// parseAuxv returns the value of key in a 64-bit little-endian auxiliary
// vector, or def.
func parseAuxv(b []byte, key uint64, def int64) int64 {
	for len(b) >= 16 {
		k, v := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
		b = b[16:]
		if k == key && v > 0 && v < 1<<20 {
			return int64(v)
		}
		if k == 0 {
			break
		}
	}
	return def
}
