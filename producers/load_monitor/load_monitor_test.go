package load_monitor

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// fakeTime drives the loop: each sleep advances the clock by the interval
// plus the next scripted delay; when the script is used up, sleep signals
// drained and blocks until the loop is stopped.
type fakeTime struct {
	mu      sync.Mutex
	t       time.Time
	delays  []time.Duration
	slept   []time.Duration // the sleeps asked for, in order
	drained chan struct{}
}

func (f *fakeTime) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeTime) sleep(stop <-chan struct{}, d time.Duration) bool {
	f.mu.Lock()
	if len(f.delays) == 0 {
		f.mu.Unlock()
		close(f.drained)
		<-stop
		return false
	}
	f.t = f.t.Add(d + f.delays[0])
	f.delays = f.delays[1:]
	f.slept = append(f.slept, d)
	f.mu.Unlock()
	return true
}

// runFake runs the producer configured with cfg on a fake clock whose
// wake-ups are late by delays, in order, and returns the clock and what
// the producer collected once they are used up.
func runFake(t *testing.T, cfg sdk.Config, delays []time.Duration) (*fakeTime, sdk.Stats) {
	t.Helper()
	ft := &fakeTime{t: time.Unix(1764000000, 0), delays: delays, drained: make(chan struct{})}
	p := New(hclog.NewNullLogger()).(*producer)
	p.now, p.sleep = ft.now, ft.sleep
	ctx := context.Background()
	if err := p.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	<-ft.drained
	st, err := p.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return ft, st
}

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestLoop(t *testing.T) {
	t.Parallel()
	long := append(ms(5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000), make([]time.Duration, 60)...)
	for i := 10; i < 70; i++ {
		long[i] = 500 * time.Millisecond
	}
	// At a 5 s interval, the last minute is the last 12 wake-ups.
	long5 := append(ms(5000, 5000, 5000), make([]time.Duration, 12)...)
	for i := 3; i < 15; i++ {
		long5[i] = 250 * time.Millisecond
	}
	cases := []struct {
		name     string
		cfg      sdk.Config
		delays   []time.Duration
		avg, max float64
	}{
		{"no samples yet", nil, nil, 0, 0},
		// the first sleep is the idle one (10 s): its delay weighs 10
		// times the others'
		{"three samples", nil, ms(100, 300, 200), (0.1*10 + 0.3 + 0.2) / 12, 0.3},
		{"only the last 60 count", nil, long, 0.5, 0.5},
		{"clock stepping back is no load", nil, ms(-3000, 400), 0.2, 0.4},
		{"every 5 s, the last 12 count", sdk.Config(`{"interval": 5000000000}`), long5, 0.25, 0.25},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, st := runFake(t, tc.cfg, tc.delays)
			checkFloat(t, st, "load_monitor.avg_load", tc.avg)
			checkFloat(t, st, "load_monitor.max_load", tc.max)
		})
	}
}

// repeat returns n times d.
func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func concat(parts ...[]time.Duration) []time.Duration {
	var out []time.Duration
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestSleeps checks when the loop sleeps interval and when idle_interval,
// and what the stats then summarise.
func TestSleeps(t *testing.T) {
	t.Parallel()
	sec, idle := time.Second, 10*time.Second
	onTime := time.Millisecond // under lateDelay
	late := 20 * time.Millisecond
	cases := []struct {
		name     string
		cfg      sdk.Config
		delays   []time.Duration
		sleeps   []time.Duration
		avg, max float64
	}{
		{"every 10 s while on time", nil,
			repeat(3, onTime),
			repeat(3, idle),
			0.001, 0.001},
		{"a late wake-up brings back the second for a minute", nil,
			concat(repeat(2, onTime), []time.Duration{late}, repeat(61, onTime)),
			concat(repeat(3, idle), repeat(60, sec), repeat(1, idle)),
			// the last minute: the last sleep of 10 s and fifty of 1 s,
			// all on time (the late one is older)
			0.001, 0.001},
		{"each delay weighs its sleep", nil,
			concat(repeat(6, 0), []time.Duration{late}),
			repeat(7, idle),
			// the last minute is the last 6 sleeps of 10 s: five on time
			// (0) and one 20 ms late
			0.020 / 6, 0.020},
		{"idle_interval = interval wakes every second, as Tahoe", sdk.Config(`{"idle_interval": 1000000000}`),
			repeat(90, 0),
			repeat(90, sec),
			0, 0},
		{"a longer interval is the idle one too", sdk.Config(`{"interval": 30000000000}`),
			repeat(4, 0),
			repeat(4, 30*time.Second),
			0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ft, st := runFake(t, tc.cfg, tc.delays)
			if !slices.Equal(ft.slept, tc.sleeps) {
				t.Errorf("slept %v,\nwant  %v", ft.slept, tc.sleeps)
			}
			checkFloat(t, st, "load_monitor.avg_load", tc.avg)
			checkFloat(t, st, "load_monitor.max_load", tc.max)
		})
	}
}

func checkFloat(t *testing.T, st sdk.Stats, name string, want float64) {
	t.Helper()
	got, ok := st.Stats[name].Float64()
	if !ok || math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", name, st.Stats[name], want)
	}
}

func TestCloseStopsLoop(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	ctx := context.Background()
	if err := p.Configure(ctx, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Close(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the loop")
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if err := p.Configure(ctx, nil); err == nil {
		t.Error("a Configure after Close was accepted")
	}
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	var c config
	if err := cfgs[0].Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.WarnIfDelayExceeds != 2*time.Second {
		t.Errorf("warn_if_delay_exceeds = %v, want 2s", c.WarnIfDelayExceeds)
	}
	if _, diags := producertest.Decode([]byte(`producer "load_monitor" { loop_interval = "1s" }`), "bad.hcl", Name, p); !diags.HasErrors() {
		t.Error("an unknown attribute was accepted")
	}
}

func TestIntervalBounds(t *testing.T) {
	t.Parallel()
	for _, cfg := range []string{
		`{"interval": 999000000}`, `{"interval": 61000000000}`,
		`{"idle_interval": 999000000}`, `{"idle_interval": 61000000000}`,
		`{"interval": 5000000000, "idle_interval": 2000000000}`,
	} {
		p := New(hclog.NewNullLogger())
		if err := p.Configure(context.Background(), sdk.Config(cfg)); err == nil {
			t.Errorf("Configure(%s) was accepted", cfg)
			p.Close(context.Background())
		}
	}
}

// TestOverGRPC runs the real loop behind the real gRPC transport for a
// little over a second, so at least one delay has been measured.
func TestOverGRPC(t *testing.T) {
	t.Parallel()
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	ctx := context.Background()
	info, err := p.Describe(ctx)
	if err != nil || info.Name != Name || len(info.Stats) != 2 {
		t.Fatalf("Describe = %+v, %v", info, err)
	}
	// idle_interval 1 s: the first wake-up after a second, not ten.
	if err := p.Configure(ctx, sdk.Config(`{"warn_if_delay_exceeds": 1000000000, "idle_interval": 1000000000}`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	st, err := p.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	avg, ok := st.Stats["load_monitor.avg_load"].Float64()
	if !ok || avg < 0 || avg > 1 {
		t.Errorf("avg_load = %v, want a small delay", st.Stats["load_monitor.avg_load"])
	}
	if !st.Stats["load_monitor.max_load"].IsFloat() {
		t.Errorf("max_load = %v, want a float", st.Stats["load_monitor.max_load"])
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
