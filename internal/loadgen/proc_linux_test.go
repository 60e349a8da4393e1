package loadgen

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestParseStatus(t *testing.T) {
	b := []byte("Name:\tstatsherd\nVmPeak:\t 2000 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\nThreads:\t7\n")
	rss, peak := parseStatus(b)
	if rss != 1<<20 || peak != 2<<20 {
		t.Errorf("rss %d, peak %d; want %d, %d", rss, peak, 1<<20, 2<<20)
	}
}

func TestParseStatCPU(t *testing.T) {
	// The command may hold spaces and parentheses.
	b := []byte("4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 100 1000 10 18446744073709551615\n")
	if got := parseStatCPU(b); got != 3 {
		t.Errorf("cpu %v s, want 3 (250 + 50 ticks)", got)
	}
	if got := parseStatCPU([]byte("garbage")); got != 0 {
		t.Errorf("cpu of garbage %v, want 0", got)
	}
}

func TestProcName(t *testing.T) {
	for cmdline, want := range map[string]string{
		"/usr/bin/statsherd\x00plugin\x00serve\x00output\x00prometheus\x00": "prometheus",
		"/usr/lib/statsherd/my-output\x00":                                  "my-output",
		"":                                                                  "?",
	} {
		if got := procName([]byte(cmdline)); got != want {
			t.Errorf("procName(%q) = %q, want %q", cmdline, got, want)
		}
	}
}

// TestReadProcSelf reads this test process, which has memory and a name.
func TestReadProcSelf(t *testing.T) {
	p, ok := readProc(os.Getpid())
	if !ok {
		t.Skip("no /proc here")
	}
	if p.rss <= 0 || p.peak < p.rss || p.name == "" {
		t.Errorf("read %+v", p)
	}
	if _, ok := readProc(-1); ok {
		t.Error("readProc(-1) is ok")
	}
}

// TestResetPeak: after resetPeak, VmHWM is no longer the peak of memory
// touched and returned before it, so each round's peak is its own.
func TestResetPeak(t *testing.T) {
	if _, ok := readProc(os.Getpid()); !ok {
		t.Skip("no /proc here")
	}
	b := make([]byte, 256<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	runtime.KeepAlive(b)
	b = nil
	debug.FreeOSMemory()
	before, _ := readProc(os.Getpid())
	if before.peak-before.rss < 128<<20 {
		t.Fatalf("peak %d, rss %d: the 256 MiB touched is not in the peak", before.peak, before.rss)
	}
	if err := resetPeak(os.Getpid()); err != nil {
		t.Fatalf("resetPeak: %v", err)
	}
	after, _ := readProc(os.Getpid())
	if after.peak >= before.peak-128<<20 {
		t.Errorf("after resetPeak the peak is %d (rss %d), was %d", after.peak, after.rss, before.peak)
	}
}
