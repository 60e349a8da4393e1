package trim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Executable drops this process's mappings of the pages of its own
// executable that are read-only (code and constants), and returns how many
// bytes of mappings it went through.
func Executable() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("finding this executable: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("reading /proc/self/maps: %w", err)
	}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// address perms offset dev inode path
		if len(f) < 6 || f[5] != exe || len(f[1]) < 4 || f[1][1] != '-' || f[1][3] != 'p' {
			continue
		}
		a, b, _ := strings.Cut(f[0], "-")
		lo, err1 := strconv.ParseUint(a, 16, 64)
		hi, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), syscall.MADV_DONTNEED); e != 0 {
			return total, fmt.Errorf("madvise %s: %w", f[0], e)
		}
		total += int64(hi - lo)
	}
	return total, nil
}
