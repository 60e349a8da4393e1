package host

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/host/statsd"
)

func TestSharedEnvLeavesTheOperatorsSettings(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want bool // GOMAXPROCS added
	}{
		{"nothing set", []string{"PATH=/bin"}, true},
		{"set by the operator", []string{"PATH=/bin", "GOMAXPROCS=8"}, false},
		{"a longer name is another variable", []string{"GOMAXPROCS_X=1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sharedEnv(tt.env)
			added := slices.ContainsFunc(got, func(kv string) bool { return strings.HasPrefix(kv, "GOMAXPROCS=") })
			if added != tt.want {
				t.Errorf("sharedEnv(%q) = %q; GOMAXPROCS added: %v, want %v", tt.env, got, added, tt.want)
			}
		})
	}
}

// The built-ins' process tunes its collector itself (TuneShared): the
// host sets neither GOGC nor GOMEMLIMIT for it, so that the operator's,
// inherited, are the only ones it sees.
func TestSharedEnvSetsNoGCVariable(t *testing.T) {
	got := sharedEnv([]string{"PATH=/bin"})
	if slices.ContainsFunc(got, func(kv string) bool {
		return strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=")
	}) {
		t.Errorf("sharedEnv = %q: a GC variable would hide the operator's absence of one", got)
	}
	if !slices.Contains(got, "GOMAXPROCS=1") {
		t.Errorf("sharedEnv = %q, want GOMAXPROCS=1", got)
	}
}

// The host's collector: gcPercent's goal by a following memory limit with
// the GC percent off, unless the operator set GOGC or GOMEMLIMIT; a statsd
// flood switches to the plain GC percent and its calm back.
func TestTuneSelf(t *testing.T) {
	p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() {
		debug.SetGCPercent(p)
		debug.SetMemoryLimit(l)
	}()
	restore := TuneSelf([]string{"PATH=/bin", "GOMAXPROCS=2"})
	if got, lim := gcNow(); got != -1 || lim == math.MaxInt64 {
		t.Errorf("after TuneSelf: GC percent %d, memory limit %d; want off and a limit", got, lim)
	}
	restore()
	if got, lim := gcNow(); got != 100 || lim != math.MaxInt64 {
		t.Errorf("after restore: GC percent %d, memory limit %d; want 100 and none", got, lim)
	}
	TuneSelf([]string{"GOGC=200", "GOMAXPROCS=2"})()
	if got, lim := gcNow(); got != 100 || lim != math.MaxInt64 {
		t.Errorf("after TuneSelf with GOGC set: GC percent %d, memory limit %d; want both left alone", got, lim)
	}
	debug.SetMemoryLimit(1 << 40)
	TuneSelf([]string{"GOMEMLIMIT=1TiB", "GOMAXPROCS=2"})()
	if got, lim := gcNow(); got != gcPercent || lim != 1<<40 {
		t.Errorf("after TuneSelf with GOMEMLIMIT set: GC percent %d, memory limit %d; want %d and the operator's", got, lim, gcPercent)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	debug.SetGCPercent(100)
	// A flood, as the statsd listener reports it, and its calm.
	var flood func(bool)
	tuneStatsd = func(procs bool, f func(bool)) func() {
		flood = f
		return statsd.Tune(procs, f)
	}
	defer func() { tuneStatsd = statsd.Tune }()
	restore = TuneSelf([]string{"PATH=/bin", "GOMAXPROCS=2"})
	defer restore()
	if flood == nil {
		t.Fatal("TuneSelf gave statsd no flood callback")
	}
	flood(true)
	if got, lim := gcNow(); got != gcPercent || lim != math.MaxInt64 {
		t.Errorf("in a flood: GC percent %d, memory limit %d; want %d and none", got, lim, gcPercent)
	}
	flood(false)
	if got, lim := gcNow(); got != -1 || lim == math.MaxInt64 {
		t.Errorf("after a flood: GC percent %d, memory limit %d; want off and a limit", got, lim)
	}
}

// gcNow is the GC percent (-1: off) and memory limit in force.
func gcNow() (percent int, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	return int(int64(s[0].Value.Uint64())), int64(s[1].Value.Uint64())
}

func TestTuneSelfOneProcessorUnlessTheOperatorSetsIt(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	restore := TuneSelf([]string{"PATH=/bin"})
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS after TuneSelf = %d, want 1 while statsd is quiet", got)
	}
	restore()
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS after restore = %d, want 3", got)
	}
	restore = TuneSelf([]string{"PATH=/bin", "GOMAXPROCS=3"})
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS after TuneSelf with GOMAXPROCS set = %d, want it left at 3", got)
	}
	restore()
}
