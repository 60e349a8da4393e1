package cli

import (
	"runtime/debug"
	"testing"
)

func TestGathererGCPercent(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	if got := tuneGathererGC(func(string) string { return "200" }); got != -2 {
		t.Errorf("with the operator's GOGC=200, tuneGathererGC = %d, want -2 (left to the operator)", got)
	}
	if now := debug.SetGCPercent(100); now != 100 {
		t.Errorf("with the operator's GOGC set, GC percent became %d; it must stay as the runtime set it", now)
	}
	if got := tuneGathererGC(func(string) string { return "" }); got != gathererGCPercent {
		t.Errorf("with no GOGC, tuneGathererGC = %d, want %d", got, gathererGCPercent)
	}
	if now := debug.SetGCPercent(100); now != gathererGCPercent {
		t.Errorf("with no GOGC, GC percent is %d, want %d", now, gathererGCPercent)
	}
}
