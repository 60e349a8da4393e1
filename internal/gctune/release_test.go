package gctune

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

var sink [][]byte

// TestAfterBurstRelease: after a burst of allocation, once quiet, the
// free heap goes back to the system, once; collections without a burst
// release nothing, and nothing is released once stopped.
func TestAfterBurstRelease(t *testing.T) {
	stop := AfterBurst(100*time.Millisecond, 16<<20, Release)
	defer stop()
	n := releases.Load()
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	time.Sleep(300 * time.Millisecond)
	if d := releases.Load() - n; d != 0 {
		t.Fatalf("%d releases without a burst", d)
	}
	burst := func() {
		for range 64 {
			sink = append(sink, make([]byte, 1<<20))
		}
		sink = nil
		runtime.GC()
	}
	burst()
	deadline := time.Now().Add(10 * time.Second)
	for releases.Load() == n {
		if time.Now().After(deadline) {
			t.Fatal("no release after a burst of 64 MiB")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := released(); r < 32<<20 {
		t.Errorf("%d MiB released after a burst of 64 MiB", r>>20)
	}
	// Its own collections are no burst.
	time.Sleep(300 * time.Millisecond)
	if d := releases.Load() - n; d != 1 {
		t.Errorf("%d releases after one burst", d)
	}
	stop()
	burst()
	time.Sleep(300 * time.Millisecond)
	if d := releases.Load() - n; d != 1 {
		t.Errorf("a release after stop (%d in all)", d)
	}
}

// released is the heap's memory returned to the system now.
func released() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
