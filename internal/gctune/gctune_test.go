package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestScale(t *testing.T) {
	s := Scale{Min: 10, Max: 50, Per: 2 << 20}
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 10}, {4 << 20, 10}, {20 << 20, 10}, {22 << 20, 11}, {50 << 20, 25}, {100 << 20, 50}, {1 << 40, 50}, {^uint64(0), 50},
	} {
		if got := s.Percent(c.live); got != c.want {
			t.Errorf("Percent(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
}

// TestFollow: the percent is set at once and again after each
// collection, from the live heap, and no longer once stopped.
func TestFollow(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	want := make(chan int, 1)
	want <- 37
	calls := make(chan uint64, 100)
	current := 37
	stop := Follow(func(live uint64) int {
		select {
		case current = <-want:
		default:
		}
		calls <- live
		return current
	})
	if now := gogc(); now != 37 {
		t.Fatalf("after Follow the GC percent is %d, want 37", now)
	}
	<-calls
	keep := make([]byte, 8<<20) // live at the next collection
	want <- 23
	runtime.GC()
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case live := <-calls:
			if live < 8<<20 {
				t.Errorf("the live heap after a collection was given as %d bytes, with 8 MiB held", live)
			}
			got = true
		case <-deadline:
			t.Fatal("no call after a collection")
		case <-time.After(50 * time.Millisecond):
			runtime.GC()
		}
	}
	runtime.KeepAlive(keep)
	// The cleanup goroutine sets the percent right after the call.
	for i := 0; gogc() != 23; i++ {
		if i > 100 {
			t.Fatal("the GC percent never became 23")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	debug.SetGCPercent(80)
	for range 3 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if now := gogc(); now != 80 {
		t.Errorf("after stop the GC percent was changed to %d", now)
	}
}

// gogc is the GC percent in force.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
