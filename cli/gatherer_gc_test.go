package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
)

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func TestGathererGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	tuneGathererGC(func(string) string { return "200" })()
	runtime.GC()
	if now := gogc(); now != 100 {
		t.Errorf("with the operator's GOGC set, GC percent became %d; it must stay as the runtime set it", now)
	}
	stop := tuneGathererGC(func(string) string { return "" })
	defer stop()
	// This test's live heap is a few MiB: the smallest percent.
	if now := gogc(); now != gathererGC.Min {
		t.Errorf("with no GOGC, GC percent is %d, want %d", now, gathererGC.Min)
	}
	if p := gathererGC.Percent(200 << 20); p != 15 {
		t.Errorf("at 200 MiB live (10,000 hosts) the percent is %d, want 15 (30 MiB of headroom)", p)
	}
}

// TestGathererGCCurve: the percent rises a point per 2 MiB live (1,000
// hosts' ≈ 20 MiB keep 10) until the headroom it leaves reaches 30 MiB
// (≈ 77 MiB live, 38), then falls so that the headroom stays at 30 MiB
// (15 at 10,000 hosts' 200 MiB), never under 10.
func TestGathererGCCurve(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 10}, {4 << 20, 10}, {20 << 20, 10}, {22 << 20, 11}, {50 << 20, 25},
		{70 << 20, 35}, {76 << 20, 38}, {78 << 20, 38}, {88 << 20, 34}, {90 << 20, 33}, {100 << 20, 30},
		{160 << 20, 18}, {200 << 20, 15}, {300 << 20, 10}, {400 << 20, 10}, {500 << 20, 10}, {2 << 30, 10}, {1 << 40, 10}, {^uint64(0), 10},
	} {
		if got := gathererGC.Percent(c.live); got != c.want {
			t.Errorf("gathererGC.Percent(%d MiB) = %d, want %d", c.live>>20, got, c.want)
		}
	}
	// Without a headroom the curve is Scale's.
	plain := gcCurve{Scale: gathererGC.Scale}
	if got := plain.Percent(200 << 20); got != 50 {
		t.Errorf("with no headroom cap, Percent(200 MiB) = %d, want Scale's 50", got)
	}
	// The headroom left, live × percent / 100, is at most 30 MiB until
	// the percent reaches its least.
	for live := uint64(1 << 20); live <= 400<<20; live += 3 << 20 {
		p := gathererGC.Percent(live)
		if h := live * uint64(p) / 100; p > gathererGC.Min && h > gathererGC.Headroom {
			t.Errorf("at %d MiB live the headroom is %d MiB, over %d", live>>20, h>>20, gathererGC.Headroom>>20)
		}
	}
}
