package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

var sink [][]byte

// round allocates mib MiB that are garbage at its end.
func round(mib int) {
	for range mib {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRoundsQuiet: rounds ending one after another within Quiet are
// followed by one After, after the last; nothing after Stop.
func TestRoundsQuiet(t *testing.T) {
	var after atomic.Int32
	r := NewRounds(RoundsConfig{Quiet: 300 * time.Millisecond, After: func() { after.Add(1) }})
	defer r.Stop()
	for range 5 {
		r.Done()
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "no After after the rounds", func() bool { return after.Load() == 1 })
	time.Sleep(500 * time.Millisecond)
	if a := after.Load(); a != 1 {
		t.Errorf("%d Afters after 5 rounds within the quiet, want 1", a)
	}
	r.Done()
	waitFor(t, "no After after another round", func() bool { return after.Load() == 2 })
	r.Done()
	r.Stop()
	time.Sleep(500 * time.Millisecond)
	if a := after.Load(); a != 2 {
		t.Errorf("%d Afters, one after Stop", a)
	}
}

// TestRoundsRelease: with Release the free heap goes back to the system
// after a round; without it (a next round too near to be worth it) it is
// kept for the next round.
func TestRoundsRelease(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	for _, release := range []bool{false, true} {
		r := NewRounds(RoundsConfig{Quiet: 50 * time.Millisecond, Release: release})
		debug.FreeOSMemory()
		round(64)
		// The round's garbage, freed by a collection of the round's own
		// (not by the release).
		runtime.GC()
		r.Done()
		waitFor(t, "no quiet after a round", func() bool { return r.quiets.Load() == 1 })
		r.Stop()
		free := heapFree()
		if release && free > 16<<20 {
			t.Errorf("with Release, %d MiB of free heap kept after a round of 64 MiB", free>>20)
		}
		if !release && free < 16<<20 {
			t.Errorf("without Release, %d MiB of free heap kept after a round of 64 MiB, want most of it", free>>20)
		}
	}
}

// TestRoundsPercent: the GC percent follows Percent from the live heap;
// without Percent it is left as it is.
func TestRoundsPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	r := NewRounds(RoundsConfig{Quiet: time.Second})
	runtime.GC()
	if p := gogc(); p != 100 {
		t.Errorf("without Percent the GC percent became %d", p)
	}
	r.Stop()
	r = NewRounds(RoundsConfig{Quiet: time.Second, Percent: func(uint64) int { return 17 }})
	defer r.Stop()
	if p := gogc(); p != 17 {
		t.Errorf("with Percent 17 the GC percent is %d", p)
	}
}

// heapFree is the heap's free memory not returned to the system.
func heapFree() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
