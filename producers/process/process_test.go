package process

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want map[string]int64
	}{
		{"tabs and spaces", "Name:\tx\nVmSize:\t    4040 kB\nVmRSS:\t 2148 kB\n", map[string]int64{"VmSize": 4040 * 1024, "VmRSS": 2148 * 1024}},
		{"no trailing newline", "VmRSS: 1 kB", map[string]int64{"VmRSS": 1024}},
		{"not kB is skipped", "VmRSS: 1 MB\nThreads: 4\n", map[string]int64{}},
		{"garbage number is skipped", "VmSize: x kB\nVmRSS: -5 kB\n", map[string]int64{}},
		{"empty", "", map[string]int64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := parseStatus([]byte(tc.in))
			if len(got) != len(tc.want) {
				t.Errorf("parseStatus = %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("%s = %d, want %d", k, got[k], w)
				}
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("VmSize:\t    4040 kB\nVmRSS:\t    2148 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for k, v := range parseStatus(b) {
			if v < 0 || v%1024 != 0 || strings.Contains(k, "\n") {
				t.Errorf("parseStatus gave %q = %d", k, v)
			}
		}
	})
}

func TestCollect(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		cfg         map[string]any
		vmsize      int64 // -1: null
		vmrss       int64
		errContains string
	}{
		{"pid", map[string]any{"pid": 4242}, 4040 * 1024, 2148 * 1024, ""},
		{"pidfile", map[string]any{"pidfile": "testdata/tahoe.pid"}, 4040 * 1024, 2148 * 1024, ""},
		{"default is the host", map[string]any{}, 4040 * 1024, 2148 * 1024, ""},
		{"dead pid", map[string]any{"pid": 999999}, -1, -1, "pid 999999: process is not running"},
		{"pidfile naming a dead pid", map[string]any{"pidfile": "testdata/dead.pid"}, -1, -1, "not running"},
		{"missing pidfile", map[string]any{"pidfile": "testdata/nope.pid"}, -1, -1, "reading pidfile"},
		{"garbage pidfile", map[string]any{"pidfile": "testdata/garbage.pid"}, -1, -1, "is not a process id"},
		{"zombie", map[string]any{"pid": 4343}, -1, -1, "no [VmSize VmRSS]"},
		{"half garbage", map[string]any{"pid": 4444}, -1, 12 * 1024, "no [VmSize]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := New(hclog.NewNullLogger()).(*producer)
			p.procRoot = "testdata/proc"
			p.hostPID = func() int { return 4242 }
			cfg, _ := json.Marshal(tc.cfg)
			if err := p.Configure(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			st, err := p.Collect(context.Background())
			if tc.errContains == "" && err != nil {
				t.Fatalf("Collect: %v", err)
			}
			if tc.errContains != "" && (err == nil || !strings.Contains(err.Error(), tc.errContains)) {
				t.Fatalf("Collect error = %v, want one containing %q", err, tc.errContains)
			}
			check(t, st, "process.vmsize", tc.vmsize)
			check(t, st, "process.vmrss", tc.vmrss)
		})
	}
}

func check(t *testing.T, st sdk.Stats, name string, want int64) {
	t.Helper()
	v, present := st.Stats[name]
	if !present {
		t.Errorf("%s missing", name)
		return
	}
	if want < 0 {
		if !v.IsNull() {
			t.Errorf("%s = %v, want null", name, v)
		}
		return
	}
	if got, ok := v.Int64(); !ok || got != want {
		t.Errorf("%s = %v, want %d", name, v, want)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "empty", Config: `{}`, OK: true},
		{Name: "pid", Config: `{"pid": 12}`, OK: true},
		{Name: "both", Config: `{"pid": 12, "pidfile": "/run/x.pid"}`, OK: false},
		{Name: "negative", Config: `{"pid": -3}`, OK: false},
		{Name: "unknown", Config: `{"name": "tahoe"}`, OK: false},
	})
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if len(cfgs) != 1 {
		t.Fatalf("example.hcl has %d blocks, want 1", len(cfgs))
	}
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if p.cfg.PIDFile != "/var/lib/tahoe/twistd.pid" {
		t.Errorf("decoded %+v", p.cfg)
	}
}

// TestOverGRPC watches this test process itself through the real /proc.
func TestOverGRPC(t *testing.T) {
	t.Parallel()
	pidfile := filepath.Join(t.TempDir(), "self.pid")
	if err := os.WriteFile(pidfile, []byte(strings.Repeat(" ", 3)+itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	cfg, _ := json.Marshal(map[string]string{"pidfile": pidfile})
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rss, _ := st.Stats["process.vmrss"].Int64()
	size, _ := st.Stats["process.vmsize"].Int64()
	if rss < 1<<20 || size < rss {
		t.Errorf("vmrss %d, vmsize %d: want a few MB resident and at least as much virtual", rss, size)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}
