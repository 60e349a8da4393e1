package cpu_monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile("testdata/proc/4242/stat")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		in      string
		want    procStat
		wantErr bool
	}{
		{"fixture with parentheses in the name", string(fixture), procStat{utime: 1234, stime: 566, starttime: 80852}, false},
		{"synthetic", statLine(7, "a b", 10, 20, 30), procStat{utime: 10, stime: 20, starttime: 30}, false},
		{"too short", "1 (x) S 1 2 3\n", procStat{}, true},
		{"no parenthesis", "1 x S 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", procStat{}, true},
		{"not a number", strings.Replace(statLine(1, "x", 10, 20, 30), " 10 20 ", " ten 20 ", 1), procStat{}, true},
		{"empty", "", procStat{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStat([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseStat = %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(1, "init", 5, 6, 7)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := parseStat(b)
		if err == nil && (ps.utime > 1<<52 || ps.stime > 1<<52) {
			t.Errorf("parseStat accepted out-of-range times %+v", ps)
		}
	})
}

// statLine is a /proc/PID/stat line with the given command name, utime,
// stime and starttime.
func statLine(pid int, comm string, utime, stime, start uint64) string {
	return fmt.Sprintf("%d (%s) S 1 1 1 0 -1 4194560 100 0 0 0 %d %d 0 0 20 0 1 0 %d 3133440 381 18446744073709551615\n",
		pid, comm, utime, stime, start)
}

// fakeProc is a proc root whose pid 4242 uses cpu seconds as the test says.
type fakeProc struct {
	t    *testing.T
	root string
	now  time.Time
}

func (f *fakeProc) set(pid int, cpuSeconds float64, start uint64) {
	f.t.Helper()
	dir := filepath.Join(f.root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	ticks := uint64(math.Round(cpuSeconds * 100))
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(statLine(pid, "tahoe", ticks-ticks/4, ticks/4, start)), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func newTestProducer(t *testing.T, cfg string) (*producer, *fakeProc) {
	t.Helper()
	fp := &fakeProc{t: t, root: t.TempDir(), now: time.Unix(1764000000, 0)}
	fp.set(4242, 0, 5000)
	p := New(hclog.NewNullLogger()).(*producer)
	p.procRoot = fp.root
	p.hostPID = func() int { return 4242 }
	p.now = func() time.Time { return fp.now }
	p.clockTicks = func() int64 { return 100 }
	if err := p.Configure(context.Background(), sdk.Config(cfg)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, fp
}

// TestAverages drives sampling by hand: the process uses a constant
// fraction of a CPU, and each average appears once its window is covered.
func TestAverages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		interval time.Duration
		fraction float64
		samples  int // samples after the baseline
		want     map[string]float64
	}{
		{"no history yet", time.Minute, 0.5, 0, map[string]float64{}},
		{"one minute", time.Minute, 0.25, 1, map[string]float64{"1min_avg": 0.25}},
		{"four minutes", time.Minute, 0.25, 4, map[string]float64{"1min_avg": 0.25}},
		{"five minutes", time.Minute, 0.1, 5, map[string]float64{"1min_avg": 0.1, "5min_avg": 0.1}},
		{"twenty minutes", time.Minute, 1.5, 20, map[string]float64{"1min_avg": 1.5, "5min_avg": 1.5, "15min_avg": 1.5}},
		{"ten second interval", 10 * time.Second, 0.2, 29, map[string]float64{"1min_avg": 0.2}},
		{"ten second interval, five minutes", 10 * time.Second, 0.2, 30, map[string]float64{"1min_avg": 0.2, "5min_avg": 0.2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, fp := newTestProducer(t, fmt.Sprintf(`{"interval": %d}`, tc.interval))
			cpu := 0.0
			for range tc.samples {
				fp.now = fp.now.Add(tc.interval)
				cpu += tc.fraction * tc.interval.Seconds()
				fp.set(4242, cpu, 5000)
				if err := p.sample(); err != nil {
					t.Fatal(err)
				}
			}
			st, err := p.Collect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"1min_avg", "5min_avg", "15min_avg"} {
				v := st.Stats["cpu_monitor."+name]
				want, ok := tc.want[name]
				got, has := v.Float64()
				if has != ok || math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v, want %v (present %v)", name, v, want, ok)
				}
			}
			if total, _ := st.Stats["cpu_monitor.total"].Float64(); math.Abs(total-cpu) > 0.01 {
				t.Errorf("total = %v, want %v", total, cpu)
			}
		})
	}
}

// TestRestartedProcess: a new process behind the same pid (a different
// start time) must not be averaged with the old one's samples.
func TestRestartedProcess(t *testing.T) {
	t.Parallel()
	p, fp := newTestProducer(t, `{}`)
	fp.now = fp.now.Add(time.Minute)
	fp.set(4242, 30, 5000)
	if err := p.sample(); err != nil {
		t.Fatal(err)
	}
	fp.set(4242, 1, 9000) // restarted
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v := st.Stats["cpu_monitor.1min_avg"]; !v.IsNull() {
		t.Errorf("1min_avg = %v across a restart, want null", v)
	}
	if v, _ := st.Stats["cpu_monitor.total"].Float64(); v != 1 {
		t.Errorf("total = %v, want 1", v)
	}
}

func TestBadTargets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cfg, errContains string
	}{
		{"dead pid", `{"pid": 999999}`, "pid 999999: process is not running"},
		{"missing pidfile", `{"pidfile": "testdata/missing.pid"}`, "reading pidfile"},
		{"garbage pidfile", `{"pidfile": "testdata/garbage.pid"}`, "is not a process id"},
		{"garbage stat", `{"pid": 77}`, "malformed stat"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, fp := newTestProducer(t, tc.cfg)
			if err := os.MkdirAll(filepath.Join(fp.root, "77"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(fp.root, "77", "stat"), []byte("77 (x) Z\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := p.Collect(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.errContains) {
				t.Fatalf("Collect error = %v, want one containing %q", err, tc.errContains)
			}
			if len(st.Stats) != 4 || !st.Stats["cpu_monitor.total"].IsNull() {
				t.Errorf("stats = %v, want four nulls", st.Stats)
			}
		})
	}
}

func TestPidfileFixture(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	p.procRoot = "testdata/proc"
	p.clockTicks = func() int64 { return 100 }
	if err := p.Configure(context.Background(), sdk.Config(`{"pidfile": "testdata/node.pid"}`)); err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Stats["cpu_monitor.total"].Float64(); v != 18 {
		t.Errorf("total = %v, want (1234+566)/100 = 18", st.Stats["cpu_monitor.total"])
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cfg string
		ok        bool
	}{
		{"defaults", `{}`, true},
		{"both", `{"pid": 4242, "pidfile": "x"}`, false},
		{"negative pid", `{"pid": -1}`, false},
		{"tiny interval", `{"interval": 1000}`, false},
		{"unknown", `{"every": 1}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := New(hclog.NewNullLogger()).(*producer)
			p.procRoot = "testdata/proc"
			err := p.Configure(context.Background(), sdk.Config(tc.cfg))
			if (err == nil) != tc.ok {
				t.Errorf("Configure(%s) = %v, want ok %v", tc.cfg, err, tc.ok)
			}
			p.Close(context.Background())
		})
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
	if c.Interval != time.Minute || c.PIDFile != "" || c.PID != 0 {
		t.Errorf("decoded %+v", c)
	}
}

// TestOverGRPC watches this test process, burning some CPU between
// samples taken every 100ms by the real sampler.
func TestOverGRPC(t *testing.T) {
	t.Parallel()
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	ctx := context.Background()
	cfg, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "interval": 100 * time.Millisecond})
	if err := p.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	deadline := time.Now().Add(300 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	st, err := p.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total, _ := st.Stats["cpu_monitor.total"].Float64(); total <= 0 {
		t.Errorf("total = %v, want the CPU seconds this test used (x=%d)", st.Stats["cpu_monitor.total"], x)
	}
	if len(st.Stats) != 4 {
		t.Errorf("stats = %v", st.Stats)
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
