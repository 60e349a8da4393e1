package host

import (
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
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

// The built-ins' process runs at the host's GC percent, unless the
// operator set GOGC, and the settings are independent of each other.
func TestSharedEnvGCPercent(t *testing.T) {
	want := "GOGC=" + strconv.Itoa(gcPercent)
	if got := sharedEnv([]string{"PATH=/bin"}); !slices.Contains(got, want) {
		t.Errorf("sharedEnv with no GOGC = %q, want %s in it", got, want)
	}
	got := sharedEnv([]string{"GOGC=200"})
	if slices.ContainsFunc(got, func(kv string) bool { return strings.HasPrefix(kv, "GOGC=") }) {
		t.Errorf("sharedEnv with GOGC=200 set = %q: the operator's GOGC is overridden", got)
	}
	if !slices.Contains(got, "GOMAXPROCS=1") {
		t.Errorf("sharedEnv with GOGC=200 set = %q, want GOMAXPROCS=1 still", got)
	}
}

// The host's own GC percent is gcPercent, unless the operator set GOGC.
func TestTuneSelf(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	TuneSelf([]string{"PATH=/bin", "GOMAXPROCS=2"})()
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent after TuneSelf = %d, want %d", got, gcPercent)
	}
	TuneSelf([]string{"GOGC=200", "GOMAXPROCS=2"})()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GC percent after TuneSelf with GOGC set = %d, want it left at 100", got)
	}
}

func TestTuneSelfOneProcessorUnlessTheOperatorSetsIt(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
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
