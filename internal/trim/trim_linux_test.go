package trim

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssFile is this process's RssFile in KiB.
func rssFile(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// The executable's pages go, and the process goes on running its code.
func TestExecutableDropsFilePages(t *testing.T) {
	before := rssFile(t)
	n, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	after := rssFile(t)
	t.Logf("RssFile %d KiB before, %d KiB after; %d bytes of mappings", before, after, n)
	if n == 0 || after >= before {
		t.Errorf("RssFile %d KiB before, %d KiB after (mappings %d bytes): want fewer pages after", before, after, n)
	}
	// Code and constants come back on use.
	if s := strconv.Itoa(12345) + strings.Repeat("x", 2); s != "12345xx" {
		t.Errorf("code after the trim computed %q", s)
	}
}

// Kicks in a row make one trim, after the last.
func TestDebouncedTrimsOnce(t *testing.T) {
	// The kicks come back to back and the quiet is long, so that a
	// loaded machine cannot stretch the gap between two kicks past it.
	d := NewDebounced(time.Second, nil)
	for range 5 {
		d.Kick()
	}
	for i := 0; d.trims.Load() == 0; i++ {
		if i > 1000 {
			t.Fatal("the trim never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(1200 * time.Millisecond)
	if n := d.trims.Load(); n != 1 {
		t.Errorf("%d trims after 5 kicks in a row, want 1", n)
	}
}

// waitTrims waits until d has trimmed n times, or fails after within.
func waitTrims(t *testing.T, d *Debounced, n int32, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for d.trims.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d trims after %v, want %d", d.trims.Load(), within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The calls of a poll that comes long after the previous one make one
// trim, soon after the last: not quiet after it.
func TestSparsePollTrimsSoon(t *testing.T) {
	d := NewDebounced(time.Hour, nil)
	for range 5 {
		d.Polled()
	}
	waitTrims(t, d, 1, 10*time.Second)
	time.Sleep(10 * d.settle)
	if n := d.trims.Load(); n != 1 {
		t.Errorf("%d trims after one poll of 5 calls, want 1", n)
	}
}

// Polls closer together than quiet wait for quiet after the last, as
// start-up does: a process polled often keeps its pages between polls.
func TestFrequentPollsWaitForQuiet(t *testing.T) {
	d := NewDebounced(time.Hour, nil)
	now := time.Unix(1e9, 0)
	d.now = func() time.Time { return now }
	d.Polled() // the first poll: sparse
	waitTrims(t, d, 1, 10*time.Second)
	for range 3 {
		now = now.Add(5 * time.Second) // past the poll's window, within quiet
		d.Polled()
	}
	time.Sleep(20 * d.settle)
	if n := d.trims.Load(); n != 1 {
		t.Errorf("%d trims after polls 5 s apart (quiet %v), want only the first poll's", n, d.quiet)
	}
	now = now.Add(2 * time.Hour) // a poll quiet after the last one is sparse again
	d.Polled()
	waitTrims(t, d, 2, 10*time.Second)
}

// A poll soon after start-up's Kick trims soon after the poll: start-up's
// pages go with the poll's.
func TestPollAfterKickTrimsSoon(t *testing.T) {
	d := NewDebounced(time.Hour, nil)
	d.Kick()
	d.Polled()
	waitTrims(t, d, 1, 10*time.Second)
}
