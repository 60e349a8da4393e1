package trim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// region is one private mapping of this process's executable, [lo, hi),
// read-only (code and constants) or not (data).
type region struct {
	lo, hi uintptr
	ro     bool
}

// regions lists this process's private mappings of its executable,
// found by the device and inode of the file it runs: after an upgrade has
// put another file at the executable's path, /proc/self/maps names the one
// running "path (deleted)", and a path would name the new one.
func regions() ([]region, error) {
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		return nil, fmt.Errorf("finding this executable: %w", err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, fmt.Errorf("reading /proc/self/maps: %w", err)
	}
	return parseMaps(maps, unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), uint64(st.Ino)), nil
}

// parseMaps returns the private mappings in maps (the text of
// /proc/PID/maps) of the file with that device and inode.
func parseMaps(maps []byte, major, minor uint32, ino uint64) []region {
	var rs []region
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// address perms offset dev inode [path]
		f := strings.Fields(sc.Text())
		if len(f) < 5 || len(f[1]) < 4 || f[1][3] != 'p' {
			continue
		}
		maj, mnr, ok := strings.Cut(f[3], ":")
		if !ok {
			continue
		}
		mj, err1 := strconv.ParseUint(maj, 16, 32)
		mn, err2 := strconv.ParseUint(mnr, 16, 32)
		in, err3 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || uint32(mj) != major || uint32(mn) != minor || in != ino || ino == 0 {
			continue
		}
		a, b, _ := strings.Cut(f[0], "-")
		lo, err1 := strconv.ParseUint(a, 16, 64)
		hi, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		rs = append(rs, region{uintptr(lo), uintptr(hi), f[1][1] == '-'})
	}
	return rs
}

// Executable drops this process's mappings of the pages of its own
// executable that are read-only (code and constants), and returns how many
// bytes of mappings it went through.
func Executable() (int64, error) {
	rs, err := regions()
	if err != nil {
		return 0, err
	}
	return drop(rs)
}

// full drops the pages as Executable does, then evicts those no process
// maps from the page cache (evict).
func full() (int64, error) {
	rs, err := regions()
	if err != nil {
		return 0, err
	}
	n, err := drop(rs)
	if err != nil {
		return n, err
	}
	return n, evict(rs)
}

func drop(rs []region) (int64, error) {
	var total int64
	for _, r := range rs {
		if !r.ro {
			continue // data: the process's own copy once written
		}
		if err := madvise(r, syscall.MADV_DONTNEED); err != nil {
			return total, err
		}
		total += int64(r.hi - r.lo)
	}
	return total, nil
}

func madvise(r region, advice int) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, r.lo, r.hi-r.lo, uintptr(advice)); e != 0 {
		return fmt.Errorf("madvise %x-%x: %w", r.lo, r.hi, e)
	}
	return nil
}

// evict drops from the page cache the pages of this process's executable
// that no process maps (posix_fadvise POSIX_FADV_DONTNEED: the kernel
// keeps every page some process maps, so another process running the same
// file loses nothing it uses), and asks the kernel not to read ahead
// around a fault in the executable's mappings (MADV_RANDOM): a page
// evicted and run again is read alone, and a fault in the data does not
// read megabytes of the file back either. The page cache then holds
// the pages processes ran since, and the kernel's fault-around, which
// maps the pages already cached within 64 KiB of a fault, finds fewer
// that were never run. The file is /proc/self/exe opened, the file this
// process runs, even when an upgrade has put another at its path.
func evict(rs []region) error {
	for _, r := range rs {
		if err := madvise(r, syscall.MADV_RANDOM); err != nil {
			return err
		}
	}
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return fmt.Errorf("opening this executable: %w", err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("fadvise %s: %w", f.Name(), err)
	}
	return nil
}
