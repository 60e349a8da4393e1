package trim

import (
	"bufio"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
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

// roMappings is how many read-only mappings of its executable this
// process has.
func roMappings(t *testing.T) int {
	t.Helper()
	rs, err := regions()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		if r.ro {
			n++
		}
	}
	return n
}

// split makes a mapping of each page, and merge makes them one again.
func TestSplitAndMerge(t *testing.T) {
	rs, err := regions()
	if err != nil {
		t.Fatal(err)
	}
	before := roMappings(t)
	pages := 0
	for _, r := range rs {
		if r.ro {
			pages += int((r.hi - r.lo) / pageSize)
		}
	}
	if err := split(rs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { merge(rs) })
	if n := roMappings(t); n < pages-before {
		t.Errorf("%d read-only mappings of the executable after split, want one a page (%d)", n, pages)
	}
	if err := merge(rs); err != nil {
		t.Fatal(err)
	}
	if n := roMappings(t); n != before {
		t.Errorf("%d read-only mappings of the executable after merge, want %d as before split", n, before)
	}
}

// coldWork runs code the test had not run.
func coldWork() string {
	h := sha512.Sum512([]byte(time.Now().String()))
	return hex.EncodeToString(h[:]) + strings.ToTitle("cold")
}

// pollWork is the work of a test's poll.
func pollWork() string { return fmt.Sprintf("%08.3f|%q", 3.14159, "poll") }

// A polled process drops every page at its first trim and splits its
// mappings; the next poll's pages make the hot set, and the mappings are
// merged again; from then on a trim keeps the hot pages mapped and drops
// the others. A Kick starts it over.
func TestPollsKeepTheirPages(t *testing.T) {
	d := NewDebounced(time.Hour, nil)
	now := time.Unix(1e9, 0)
	d.now = func() time.Time { return now }
	poll := func(n int32) {
		now = now.Add(2 * time.Hour)
		pollWork()
		d.Polled()
		waitTrims(t, d, n, 10*time.Second)
	}
	before := roMappings(t)
	d.Kick()
	poll(1) // full: every page dropped, the mappings split
	if n := roMappings(t); n <= before*10 || d.fulls.Load() != 1 {
		t.Fatalf("%d read-only mappings after the first trim (%d before), %d full trims: want them split by a full trim", n, before, d.fulls.Load())
	}
	poll(2) // learns, merges
	if n := roMappings(t); n != before {
		t.Errorf("%d read-only mappings after the learning poll, want %d as before the split", n, before)
	}
	d.tmu.Lock()
	hot := pageSet{}
	hot.add(d.hot)
	rs := d.rs
	d.tmu.Unlock()
	coldWork()
	was, err := mapped(rs)
	if err != nil {
		t.Fatal(err)
	}
	poll(3) // keeps the hot set, drops the rest
	after, err := mapped(rs)
	if err != nil {
		t.Fatal(err)
	}
	kept, stray := 0, 0
	for lo, b := range after {
		for i := range len(b) * 64 {
			switch {
			case has(b, i) && has(hot[lo], i):
				kept++
			case has(b, i):
				stray++
			}
		}
	}
	t.Logf("%d hot pages; %d mapped before the trim, %d after: %d hot, %d not", hot.count(), was.count(), after.count(), kept, stray)
	if hot.count() == 0 || kept < hot.count()*9/10 {
		t.Errorf("%d of %d hot pages mapped after the trim, want them all (but a few the kernel took)", kept, hot.count())
	}
	if cold := was.count() - hot.count(); cold <= 0 || stray > cold/2 {
		t.Errorf("%d pages out of the hot set mapped after the trim, %d before: want them dropped", stray, cold)
	}
	if d.fulls.Load() != 1 {
		t.Errorf("%d full trims after three polls, want 1", d.fulls.Load())
	}
	d.Kick()
	poll(4) // a Kick: full again
	if d.fulls.Load() != 2 || roMappings(t) <= before*10 {
		t.Errorf("%d full trims after a Kick and %d read-only mappings: want a second full trim, split", d.fulls.Load(), roMappings(t))
	}
	poll(5)
}

// A process made with NewPolled splits at its first trim, start-up's, so
// that its first poll makes the hot set.
func TestNewPolledSplitsAtStart(t *testing.T) {
	before := roMappings(t)
	d := NewPolled(50*time.Millisecond, nil)
	d.Kick()
	waitTrims(t, d, 1, 10*time.Second)
	if n := roMappings(t); n <= before*10 {
		t.Fatalf("%d read-only mappings after start-up's trim, %d before: want them split", n, before)
	}
	d.quiet = time.Hour
	d.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	pollWork()
	d.Polled()
	waitTrims(t, d, 2, 10*time.Second)
	if n := roMappings(t); n != before || d.hot.count() == 0 {
		t.Errorf("%d read-only mappings and %d hot pages after the first poll: want them merged (%d) and a hot set", n, d.hot.count(), before)
	}
}

// Polls close together (start-up's) do not make the hot set: their trim
// drops their pages, and the next sparse poll makes it.
func TestOnlySparsePollsLearn(t *testing.T) {
	d := NewPolled(2*time.Second, nil)
	now := time.Unix(1e9, 0)
	var mu sync.Mutex
	d.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	d.Kick()
	waitTrims(t, d, 1, 10*time.Second) // start-up's: split
	t0 := now
	d.Polled()                           // sparse
	set(t0.Add(1500 * time.Millisecond)) // past the poll's window, within quiet
	d.Polled()                           // not sparse: the trim waits for quiet
	waitTrims(t, d, 2, 10*time.Second)
	d.tmu.Lock()
	learned, hot := d.learned, d.hot.count()
	d.tmu.Unlock()
	if learned != 0 || hot != 0 {
		t.Errorf("after polls close together: %d polls learned, %d hot pages; want none", learned, hot)
	}
	set(t0.Add(time.Hour))
	pollWork()
	d.Polled() // sparse: makes the hot set
	waitTrims(t, d, 3, 10*time.Second)
	d.tmu.Lock()
	learned, hot = d.learned, d.hot.count()
	d.tmu.Unlock()
	if learned != 1 || hot == 0 {
		t.Errorf("after a sparse poll: %d polls learned, %d hot pages; want 1 and some", learned, hot)
	}
}

// A process never polled (a gatherer, an output) drops every page at
// each trim, and its mappings are never split.
func TestUnpolledTrimsAreFull(t *testing.T) {
	d := NewDebounced(50*time.Millisecond, nil)
	before := roMappings(t)
	for n := int32(1); n <= 3; n++ {
		d.Kick()
		waitTrims(t, d, n, 10*time.Second)
	}
	if d.fulls.Load() != 3 || d.hot != nil {
		t.Errorf("%d full trims of 3, hot set %v: want every trim full, nothing kept", d.fulls.Load(), d.hot)
	}
	if n := roMappings(t); n != before {
		t.Errorf("%d read-only mappings after the trims, %d before: want them not split", n, before)
	}
}

// The child's side of TestReplacedExecutable: trims, says so, waits for
// its executable to be replaced on disk, then runs code it had not run
// and trims again.
func TestMain(m *testing.M) {
	if os.Getenv("TRIM_TEST_CHILD") == "" {
		os.Exit(m.Run())
	}
	if _, err := Executable(); err != nil {
		fmt.Println("trim:", err)
		os.Exit(1)
	}
	fmt.Println("trimmed")
	bufio.NewReader(os.Stdin).ReadString('\n')
	w := coldWork()
	n, err := Executable()
	if err != nil {
		fmt.Println("trim:", err)
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
