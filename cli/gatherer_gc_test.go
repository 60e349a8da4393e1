package cli

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"

	"github.com/statsherd/statsherd/internal/gctune"
)

func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

func TestGathererGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	c := gathererRounds(func(string) string { return "200" })
	if c.Percent != nil || c.Release || c.After == nil {
		t.Errorf("with the operator's GOGC: %+v, want the percent left alone, no release after a round, only the trim", c)
	}
	r := gctune.NewRounds(c)
	runtime.GC()
	if now := gogc(); now != 100 {
		t.Errorf("with the operator's GOGC set, GC percent became %d; it must stay as the runtime set it", now)
	}
	r.Stop()
	c = gathererRounds(func(string) string { return "" })
	if c.Percent == nil || c.Release || c.After == nil {
		t.Errorf("without GOGC: %+v, want the percent following the live heap, the trim, and no release", c)
	}
	r = gctune.NewRounds(c)
	defer r.Stop()
	// This test's live heap is a few MiB: the smallest percent.
	if now := gogc(); now != gathererGC.Min {
		t.Errorf("with no GOGC, GC percent is %d, want %d", now, gathererGC.Min)
	}
	if p := gathererGC.Percent(200 << 20); p != 50 {
		t.Errorf("at 200 MiB live (10,000 hosts) the percent is %d, want 50 as before", p)
	}
}

// TestOutputRounds: an output's process gives its heap back after every
// round and drops the executable's pages, its GOGC left alone.
func TestOutputRounds(t *testing.T) {
	rc := outputRounds()
	if !rc.Release || rc.After == nil || rc.Quiet != roundQuiet || rc.Percent != nil {
		t.Errorf("%+v, want a release and a trim after each round, GOGC left alone", rc)
	}
}
