package trim

import (
	"bufio"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mappings of the executable are found by its device and inode: a
// mapping of a file replaced at the executable's path ("(deleted)") is
// the executable's; other files and shared mappings are not.
func TestParseMaps(t *testing.T) {
	maps := `00400000-00c00000 r-xp 00000000 fd:01 1234 /usr/bin/statsherd (deleted)
00c00000-01400000 r--p 00800000 fd:01 1234 /usr/bin/statsherd (deleted)
01400000-01480000 rw-p 01000000 fd:01 1234 /usr/bin/statsherd (deleted)
01480000-014a0000 r--s 01080000 fd:01 1234 /usr/bin/statsherd (deleted)
014a0000-014c0000 r--p 00000000 fd:01 5678 /usr/bin/statsherd
014c0000-014e0000 r--p 00000000 fd:02 1234 /other/file
c000000000-c000400000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 r--p 00000000 00:00 0                          [vvar]
garbage
`
	got := parseMaps([]byte(maps), 0xfd, 1, 1234)
	want := []region{{0x400000, 0xc00000, true}, {0xc00000, 0x1400000, true}, {0x1400000, 0x1480000, false}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseMaps = %+v, want %+v", got, want)
	}
	if got := parseMaps([]byte(maps), 0, 0, 0); len(got) != 0 {
		t.Errorf("parseMaps of inode 0 = %+v, want none", got)
	}
}

// vmFlags returns the VmFlags of each of this process's mappings in rs.
func vmFlags(t *testing.T, rs []region) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	starts := map[region]bool{}
	for _, r := range rs {
		starts[r] = true
	}
	var flags []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if a, b, ok := strings.Cut(f[0], "-"); ok && !strings.HasSuffix(f[0], ":") {
			lo, err1 := strconv.ParseUint(a, 16, 64)
			hi, err2 := strconv.ParseUint(b, 16, 64)
			in = err1 == nil && err2 == nil && (starts[region{uintptr(lo), uintptr(hi), true}] || starts[region{uintptr(lo), uintptr(hi), false}])
			continue
		}
		if in && f[0] == "VmFlags:" {
			flags = append(flags, strings.Join(f[1:], " "))
		}
	}
	return flags
}

// A full trim drops the executable's pages from this process and from the
// page cache, where no other process maps them, and marks the mappings
// for random access (no read-ahead around a fault).
func TestFullEvictsPageCache(t *testing.T) {
	// The test binary was just written: its pages go to disk first, as an
	// installed executable's have (the kernel does not evict dirty pages).
	syncExecutable(t)
	before := cachedPages()
	n, err := full()
	if err != nil {
		t.Fatal(err)
	}
	after := cachedPages()
	t.Logf("page cache of the test binary: %d pages before, %d after; %d bytes of mappings", before, after, n)
	// The pages the process maps again at once (its other threads),
	// and the large folios (up to 2 MiB) some of them are in, stay.
	if before <= 0 || after < 0 || after > before*3/4 {
		t.Errorf("page cache of the test binary: %d pages before the trim, %d after: want under three quarters", before, after)
	}
	rs, err := regions()
	if err != nil {
		t.Fatal(err)
	}
	flags := vmFlags(t, rs)
	if len(flags) != len(rs) || len(rs) == 0 {
		t.Fatalf("VmFlags of %d mappings for %d mappings of the executable", len(flags), len(rs))
	}
	if len(rs) < 3 {
		t.Errorf("%d mappings of the executable, want its code, constants and data: %+v", len(rs), rs)
	}
	for i, f := range flags {
		if !strings.Contains(" "+f+" ", " rr ") {
			t.Errorf("mapping %+v: VmFlags %q, want rr (MADV_RANDOM)", rs[i], f)
		}
	}
	// Code and constants come back on use, from the file.
	if s := hex.EncodeToString(sha512.New().Sum(nil))[:8]; s != "cf83e135" {
		t.Errorf("code after the trim computed %q", s)
	}
}

func syncExecutable(t *testing.T) {
	t.Helper()
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// cachedPages is how many pages of this process's executable the page
// cache holds (mincore on a mapping of the whole file), or -1.
func cachedPages() int {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return -1
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return -1
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return -1
	}
	defer unix.Munmap(m)
	v := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&v[0]))); e != 0 {
		return -1
	}
	n := 0
	for _, b := range v {
		n += int(b & 1)
	}
	return n
}

// coldWork runs code the test had not run.
func coldWork() string {
	h := sha512.Sum512([]byte(time.Now().String()))
	return hex.EncodeToString(h[:]) + strings.ToTitle("cold")
}

// The first trim, and the first after a Kick, is full (it evicts); the
// trims after polls only drop this process's pages.
func TestFullTrimAfterStartAndKick(t *testing.T) {
	d := NewDebounced(time.Hour, nil)
	now := time.Unix(1e9, 0)
	d.now = func() time.Time { return now }
	poll := func() {
		now = now.Add(2 * time.Hour)
		d.Polled()
	}
	poll()
	waitTrims(t, d, 1, 10*time.Second)
	poll()
	waitTrims(t, d, 2, 10*time.Second)
	poll()
	waitTrims(t, d, 3, 10*time.Second)
	if n := d.fulls.Load(); n != 1 {
		t.Errorf("%d full trims in the first three, want the first only", n)
	}
	d.Kick()
	poll() // the trim comes soon after the poll, and is full
	waitTrims(t, d, 4, 10*time.Second)
	if n := d.fulls.Load(); n != 2 {
		t.Errorf("%d full trims after a Kick, want 2", n)
	}
}

// The child's side of TestReplacedExecutable: trims, says so, waits for
// its executable to be replaced on disk, then runs code it had not run
// and trims again.
func TestMain(m *testing.M) {
	if os.Getenv("TRIM_TEST_CHILD") == "" {
		os.Exit(m.Run())
	}
	if _, err := full(); err != nil {
		fmt.Println("full:", err)
		os.Exit(1)
	}
	fmt.Println("trimmed")
	bufio.NewReader(os.Stdin).ReadString('\n')
	w := coldWork()
	n, err := full()
	if err != nil {
		fmt.Println("full:", err)
		os.Exit(1)
	}
	fmt.Println("ok", n, len(w))
	os.Exit(0)
}

// A process whose executable an upgrade replaced on disk (a new file
// renamed over it, as dpkg does) goes on running and trimming its own,
// deleted, file.
func TestReplacedExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "statsherd")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syncFile(exe); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "TRIM_TEST_CHILD=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(out)
	if line, err := r.ReadString('\n'); line != "trimmed\n" {
		t.Fatalf("the child said %q (%v), want trimmed", line, err)
	}
	// The upgrade: another file renamed over the executable's path.
	if err := os.WriteFile(exe+".new", []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(exe+".new", exe); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("go\n"))
	line, _ := r.ReadString('\n')
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the child, after its executable was replaced: %v (it said %q)", err, line)
	}
	var n, w int64
	if _, err := fmt.Sscanf(line, "ok %d %d", &n, &w); err != nil || n == 0 || w == 0 {
		t.Errorf("the child said %q after its executable was replaced: want its mappings found and trimmed (ok N with N > 0)", line)
	}
}

func syncFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
