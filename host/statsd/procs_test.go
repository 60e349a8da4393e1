package statsd

import (
	"runtime"
	"testing"
	"time"
)

// keepProcs restores GOMAXPROCS and the process's Procs after a test.
func keepProcs(t *testing.T) {
	t.Helper()
	was, wasProcs := runtime.GOMAXPROCS(0), procs
	t.Cleanup(func() {
		runtime.GOMAXPROCS(was)
		procs = wasProcs
	})
}

// waitProcs waits up to 5 s for GOMAXPROCS to be want.
func waitProcs(t *testing.T, want int, why string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: GOMAXPROCS = %d, want %d", why, runtime.GOMAXPROCS(0), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProcsFullRaisesQuietLowers(t *testing.T) {
	keepProcs(t)
	p := newProcs(4, 200*time.Millisecond)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS after newProcs = %d, want 1", got)
	}
	p.full()
	if got := runtime.GOMAXPROCS(0); got != 4 {
		t.Fatalf("GOMAXPROCS after a full batch = %d, want 4 at once", got)
	}
	// Full batches keep it up past the first quiet.
	for range 6 {
		time.Sleep(50 * time.Millisecond)
		p.full()
	}
	if got := runtime.GOMAXPROCS(0); got != 4 {
		t.Fatalf("GOMAXPROCS while batches come full = %d, want 4", got)
	}
	waitProcs(t, 1, "quiet after the last full batch")
	// And up again with the next.
	p.full()
	if got := runtime.GOMAXPROCS(0); got != 4 {
		t.Fatalf("GOMAXPROCS after a later full batch = %d, want 4", got)
	}
	waitProcs(t, 1, "quiet again")
}

func TestProcsOneProcessorLeftAlone(t *testing.T) {
	keepProcs(t)
	runtime.GOMAXPROCS(1)
	if p := newProcs(1, time.Second); p != nil {
		t.Fatalf("newProcs(1) = %v, want nil", p)
	}
	var p *Procs
	p.full() // nil: nothing to raise, no panic
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS = %d, want 1", got)
	}
}

// A flood's start and calm are told to the flood callback, with or without
// GOMAXPROCS to set.
func TestProcsTellsFlood(t *testing.T) {
	keepProcs(t)
	for _, setProcs := range []bool{true, false} {
		runtime.GOMAXPROCS(4)
		told := make(chan bool, 10)
		var p *Procs
		if setProcs {
			p = newProcs(4, 100*time.Millisecond)
		} else {
			p = &Procs{quiet: 100 * time.Millisecond}
		}
		p.flood = func(b bool) { told <- b }
		p.full()
		p.full()
		select {
		case b := <-told:
			if !b {
				t.Fatalf("setProcs %v: first told %v, want a flood", setProcs, b)
			}
		default:
			t.Fatalf("setProcs %v: a full batch told nothing", setProcs)
		}
		select {
		case b := <-told:
			if b {
				t.Fatalf("setProcs %v: told of a flood twice", setProcs)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("setProcs %v: no calm told after quiet", setProcs)
		}
		want := 1
		if !setProcs {
			want = 4
		}
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Errorf("setProcs %v: GOMAXPROCS after calm = %d, want %d", setProcs, got, want)
		}
	}
}
