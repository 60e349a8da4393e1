package trim

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

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

var pageSize = uintptr(os.Getpagesize())

// split makes each page of the read-only mappings rs a mapping of its own
// (MADV_DONTDUMP on every other page: the flag only leaves the page out of
// a core dump, which holds no pages of the executable anyway), so that
// the kernel's fault-around, which never maps across mappings, maps only
// the page a fault is on. merge undoes it: the kernel merges neighbours
// whose flags are the same again.
func split(rs []region) error { return everyOther(rs, unix.MADV_DONTDUMP) }

func merge(rs []region) error { return everyOther(rs, unix.MADV_DODUMP) }

func everyOther(rs []region, advice int) error {
	for _, r := range rs {
		if !r.ro {
			continue
		}
		for p := r.lo + pageSize; p < r.hi; p += 2 * pageSize {
			if err := madvise(region{lo: p, hi: p + pageSize}, advice); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapped returns the pages of the read-only mappings rs this process maps
// now: the present bit of each in /proc/self/pagemap.
func mapped(rs []region) (pageSet, error) {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil, fmt.Errorf("opening /proc/self/pagemap: %w", err)
	}
	defer f.Close()
	s := pageSet{}
	var buf []byte
	for _, r := range rs {
		if !r.ro {
			continue
		}
		n := int((r.hi - r.lo) / pageSize)
		if cap(buf) < 8*n {
			buf = make([]byte, 8*n)
		}
		buf = buf[:8*n]
		if _, err := f.ReadAt(buf, int64(r.lo/pageSize)*8); err != nil {
			return nil, fmt.Errorf("reading /proc/self/pagemap: %w", err)
		}
		b := make([]uint64, (n+63)/64)
		for i := range n {
			if binary.LittleEndian.Uint64(buf[8*i:])&(1<<63) != 0 {
				b[i/64] |= 1 << (i % 64)
			}
		}
		s[r.lo] = b
	}
	return s, nil
}

// keepOnly drops the read-only pages of rs this process maps that are
// not in hot, one madvise a run of them, and returns how many pages it
// dropped.
func keepOnly(rs []region, hot pageSet) (int, error) {
	now, err := mapped(rs)
	if err != nil {
		return 0, err
	}
	dropped := 0
	for _, r := range rs {
		if !r.ro {
			continue
		}
		b, h := now[r.lo], hot[r.lo]
		n := int((r.hi - r.lo) / pageSize)
		for i := 0; i < n; {
			if !has(b, i) || has(h, i) {
				i++
				continue
			}
			j := i + 1
			for j < n && has(b, j) && !has(h, j) {
				j++
			}
			run := region{lo: r.lo + uintptr(i)*pageSize, hi: r.lo + uintptr(j)*pageSize}
			if err := madvise(run, syscall.MADV_DONTNEED); err != nil {
				return dropped, err
			}
			dropped += j - i
			i = j
		}
	}
	return dropped, nil
}

// has says whether page i is in the bitmap b.
func has(b []uint64, i int) bool {
	return i/64 < len(b) && b[i/64]&(1<<(i%64)) != 0
}
