package exec

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

func TestParseOutput(t *testing.T) {
	t.Parallel()
	counters := map[string]bool{"jobs.done": true, "jobs.failed": true}
	cases := []struct {
		name     string
		in       string
		counters map[string]int64
		stats    map[string]string // each value as JSON
		errs     []string          // substrings of the error; nil: no error
	}{
		{
			name:     "counters and stats",
			in:       "jobs.done 12\njobs.queue 3\nload.avg 0.25\njobs.failed 0\n",
			counters: map[string]int64{"jobs.done": 12, "jobs.failed": 0},
			stats:    map[string]string{"jobs.queue": "3", "load.avg": "0.25"},
		},
		{
			name:  "comments, blank lines, tabs, CRLF, nulls",
			in:    "# a comment\n\n\tq.len\t7\r\nq.age U\nq.rate null\nq.x NaN\n",
			stats: map[string]string{"q.len": "7", "q.age": "null", "q.rate": "null", "q.x": "null"},
		},
		{
			name:  "exponent float, no final newline",
			in:    "bytes.total 1.5e+06",
			stats: map[string]string{"bytes.total": "1.5e+06"},
		},
		{
			name:     "garbage lines are reported, good lines kept",
			in:       "jobs.done 5\nhello world again\nbad/name 1\nq.len ten\njobs.failed -1\nq.inf +Inf\nq.ok 1\n",
			counters: map[string]int64{"jobs.done": 5},
			stats:    map[string]string{"q.ok": "1"},
			errs:     []string{"line 2: want \"name value\"", "line 3:", "line 4: stat q.len", "line 5: counter jobs.failed", "line 6: stat q.inf", ""},
		},
		{
			name:     "a float counter is refused",
			in:       "jobs.done 1.5\n",
			counters: map[string]int64{},
			errs:     []string{"line 1: counter jobs.done"},
		},
		{
			name: "many bad lines are summarised",
			in:   strings.Repeat("x\n", 9),
			errs: []string{"line 5:", "and 4 more bad lines"},
		},
		{name: "empty", in: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := parseOutput([]byte(tc.in), counters)
			if (err != nil) != (tc.errs != nil) {
				t.Fatalf("error = %v, want errors %q", err, tc.errs)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not contain %q", err, e)
				}
			}
			if len(st.Counters) != len(tc.counters) {
				t.Errorf("counters = %v, want %v", st.Counters, tc.counters)
			}
			for k, v := range tc.counters {
				if st.Counters[k] != v {
					t.Errorf("counter %s = %d, want %d", k, st.Counters[k], v)
				}
			}
			if len(st.Stats) != len(tc.stats) {
				t.Errorf("stats = %v, want %v", st.Stats, tc.stats)
			}
			for k, v := range tc.stats {
				if got, ok := st.Stats[k]; !ok || !same(got, v) {
					t.Errorf("stat %s = %v, want %s", k, got, v)
				}
			}
		})
	}
}

func FuzzParseOutput(f *testing.F) {
	f.Add([]byte("jobs.done 12\njobs.queue 3\nload.avg 0.25\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := parseOutput(b, map[string]bool{"jobs.done": true})
		for k, v := range st.Counters {
			if sdk.ValidName(k) != nil || v < 0 {
				t.Errorf("counter %q = %d accepted", k, v)
			}
		}
		for k, v := range st.Stats {
			if sdk.ValidName(k) != nil {
				t.Errorf("stat name %q accepted", k)
			}
			if f, ok := v.Float64(); ok && f != f {
				t.Errorf("stat %q is NaN", k)
			}
		}
	})
}

func newProducer(t *testing.T, cfg map[string]any) sdk.Producer {
	t.Helper()
	p := New(hclog.NewNullLogger())
	b, _ := json.Marshal(cfg)
	if err := p.Configure(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCollect runs real commands through /bin/sh.
func TestCollect(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		script  string
		timeout time.Duration
		want    map[string]string // stat name -> JSON value
		errs    []string
		maxTime time.Duration
	}{
		{"good", "echo 'q.len 4'; echo 'q.rate 0.5'", time.Second, map[string]string{"q.len": "4", "q.rate": "0.5"}, nil, 5 * time.Second},
		{"fails after printing", "echo 'q.len 4'; echo oops >&2; exit 3", time.Second, map[string]string{"q.len": "4"}, []string{"exit status 3: oops"}, 5 * time.Second},
		{"garbage", "echo 'q.len 4'; echo '<html>'", time.Second, map[string]string{"q.len": "4"}, []string{"line 2"}, 5 * time.Second},
		{"hangs", "echo 'q.len 4'; sleep 30", 300 * time.Millisecond, map[string]string{"q.len": "4"}, []string{"killed after the timeout"}, 5 * time.Second},
		{"grandchild holds stdout", "sleep 30 & echo 'q.len 4'; wait", 300 * time.Millisecond, map[string]string{"q.len": "4"}, []string{"killed after the timeout"}, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProducer(t, map[string]any{"command": []string{"/bin/sh", "-c", tc.script}, "command_timeout": tc.timeout})
			start := time.Now()
			st, err := p.Collect(context.Background())
			if d := time.Since(start); d > tc.maxTime {
				t.Errorf("Collect took %s", d)
			}
			if (err != nil) != (tc.errs != nil) {
				t.Fatalf("error = %v, want %q", err, tc.errs)
			}
			for _, e := range tc.errs {
				if !strings.Contains(err.Error(), e) {
					t.Errorf("error %q does not contain %q", err, e)
				}
			}
			for k, v := range tc.want {
				if got, ok := st.Stats[k]; !ok || !same(got, v) {
					t.Errorf("stat %s = %v, want %s", k, got, v)
				}
			}
		})
	}
}

func TestCommandTimeout(t *testing.T) {
	t.Parallel()
	short, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cases := []struct {
		name       string
		ctx        context.Context
		configured time.Duration
		lo, hi     time.Duration
	}{
		{"no deadline", context.Background(), 10 * time.Second, 10 * time.Second, 10 * time.Second},
		{"deadline shortens it", short, 10 * time.Second, 700 * time.Millisecond, 900 * time.Millisecond},
		{"configured is shorter", short, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := commandTimeout(tc.ctx, tc.configured); got < tc.lo || got > tc.hi {
				t.Errorf("commandTimeout = %s, want %s..%s", got, tc.lo, tc.hi)
			}
		})
	}
}

// TestHostDeadline: a hanging command under the host's deadline returns
// the lines it printed before that deadline passes.
func TestHostDeadline(t *testing.T) {
	t.Parallel()
	p := newProducer(t, map[string]any{"command": []string{"/bin/sh", "-c", "echo q.len 1; sleep 30"}})
	// The margin the producer keeps is a tenth of what is left: 3 s leaves
	// 300 ms for killing the group on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := p.Collect(ctx)
	if ctx.Err() != nil {
		t.Errorf("Collect returned after the host's deadline")
	}
	if err == nil || !same(st.Stats["q.len"], "1") {
		t.Errorf("Collect = %v, %v; want q.len 1 and a timeout error", st, err)
	}
}

func TestMissingCommand(t *testing.T) {
	t.Parallel()
	p := newProducer(t, map[string]any{"command": []string{"/nonexistent/queue-stats"}})
	st, err := p.Collect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "running /nonexistent/queue-stats") {
		t.Errorf("error = %v", err)
	}
	if st.Len() != 0 {
		t.Errorf("stats = %v", st)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "command", Config: `{"command": ["true"]}`, OK: true},
		{Name: "no command", Config: `{}`, OK: false},
		{Name: "empty command", Config: `{"command": []}`, OK: false},
		{Name: "bad counter name", Config: `{"command": ["true"], "counters": ["a b"]}`, OK: false},
		{Name: "zero timeout", Config: `{"command": ["true"], "command_timeout": 0}`, OK: false},
		{Name: "unknown", Config: `{"command": ["true"], "shell": true}`, OK: false},
	})
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if p.cfg.Timeout != 5*time.Second || len(p.cfg.Command) != 3 || !p.counters["mailq.delivered"] {
		t.Errorf("decoded %+v", p.cfg)
	}
	if _, diags := producertest.Decode([]byte(`producer "exec" { command = "ls" }`), "bad.hcl", Name, p); !diags.HasErrors() {
		t.Error("a string command was accepted; want a list")
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	cfg, _ := json.Marshal(map[string]any{
		"command":  []string{"/bin/sh", "-c", "echo 'jobs.done 7'; echo 'jobs.queue 2'; echo garbage"},
		"counters": []string{"jobs.done"},
	})
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error = %v, want the garbage line reported", err)
	}
	if st.Counters["jobs.done"] != 7 || !same(st.Stats["jobs.queue"], "2") {
		t.Errorf("stats = %+v, want the good lines kept", st)
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}

// same reports whether v is the value written as JSON in want, of the same
// kind (an integer is not a float).
func same(v sdk.Value, want string) bool {
	var w sdk.Value
	if err := w.UnmarshalJSON([]byte(want)); err != nil {
		return false
	}
	return v == w
}
