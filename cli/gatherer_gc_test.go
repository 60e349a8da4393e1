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
	if p := gathererGC.Percent(200 << 20); p != 50 {
		t.Errorf("at 200 MiB live (10,000 hosts) the percent is %d, want 50 as before", p)
	}
}
