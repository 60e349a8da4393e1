package host_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/statsherd/statsherd/internal/testbin"
)

// testGatherer is a real gatherer process writing the munin snapshot.
type testGatherer struct {
	furl     string          // its furl file
	snapshot string          // its stats.json
	log      *testbin.Buffer // its stdout and stderr
}

// startGatherer runs a gatherer on loopback, polling every pollInterval
// under pollTimeout, writing the munin snapshot; it waits for the furl.
func startGatherer(t *testing.T, pollInterval, pollTimeout string) testGatherer {
	t.Helper()
	return startGathererOutputs(t, pollInterval, pollTimeout, "")
}

// startGathererOutputs is startGatherer with more output blocks.
func startGathererOutputs(t *testing.T, pollInterval, pollTimeout, outputs string) testGatherer {
	t.Helper()
	gdir := filepath.Join(shortTempDir(t), "g")
	if out, err := exec.Command(bins.statsherd, "create-gatherer", gdir).CombinedOutput(); err != nil {
		t.Fatalf("statsherd create-gatherer: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(gdir, "gatherer.hcl"), []byte(`
poll_interval = "`+pollInterval+`"
poll_timeout  = "`+pollTimeout+`"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "munin" { path = "stats.json" }
`+outputs), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := testGatherer{furl: filepath.Join(gdir, "stats_gatherer.furl"), snapshot: filepath.Join(gdir, "stats.json"), log: &testbin.Buffer{}}
	g := exec.Command(bins.statsherd, "gatherer", "-basedir", gdir)
	g.Stdout, g.Stderr = tg.log, tg.log
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Process.Signal(syscall.SIGTERM); g.Wait() })
	for i := 0; ; i++ {
		if fi, err := os.Stat(tg.furl); err == nil && fi.Size() > 0 {
			break
		}
		if i > 300 {
			t.Fatalf("no furl from the gatherer:\n%s", tg.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return tg
}

// nodeStats is one node's sample in the munin snapshot.
type nodeStats struct {
	Timestamp float64 `json:"timestamp"`
	Nickname  string  `json:"nickname"`
	Stats     struct {
		Counters map[string]json.RawMessage `json:"counters"`
		Stats    map[string]json.RawMessage `json:"stats"`
	} `json:"stats"`
}

// snapshotUntil reads the gatherer's snapshot until the node nickname's
// sample satisfies ok.
func snapshotUntil(t *testing.T, path, nickname, what string, ok func(nodeStats) bool) nodeStats {
	t.Helper()
	var last nodeStats
	for i := 0; i < 1500; i++ {
		var snap map[string]nodeStats
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &snap) == nil {
			for _, s := range snap {
				if s.Nickname == nickname {
					last = s
					if ok(s) {
						return s
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the gatherer never saw %s; last sample %+v", what, last)
	return last
}

// TestE2EDatadogClient sends every type the DogStatsD client
// (github.com/DataDog/datadog-go) supports to a real host, and checks the
// values in a real gatherer's snapshot.
func TestE2EDatadogClient(t *testing.T) {
	t.Parallel()
	g := startGatherer(t, "1s", "500ms")
	furl, snapshot := g.furl, g.snapshot
	d := startDaemon(t, `
nickname = "dogstatsd"
gatherer { furl_file = "`+furl+`" }
reporting {
  statsd = "127.0.0.1:0"
  socket = ""
}
status { listen = "127.0.0.1:0" }
`)
	snapshotUntil(t, snapshot, "dogstatsd", "the host connected", func(s nodeStats) bool {
		return string(s.Stats.Stats["statsherd.link.connected"]) == "1"
	})

	// Plain: one line per call, buffered into one packet at Flush.
	c, err := statsd.New(d.statsd, statsd.WithoutTelemetry(), statsd.WithoutClientSideAggregation(),
		statsd.WithoutOriginDetection(), statsd.WithNamespace("app."))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Gauge("queue", 12, nil, 1))
	must(c.Count("jobs", 5, nil, 1))
	must(c.Incr("jobs", nil, 1))
	must(c.Decr("jobs", nil, 1)) // a negative delta: dropped, counted
	must(c.Count("req", 3, []string{"code:200", "env:prod"}, 1))
	must(c.Histogram("size", 10, nil, 1))
	must(c.Histogram("size", 30, nil, 1))
	must(c.Distribution("lat", 4, nil, 1))
	must(c.Distribution("lat", 2, nil, 1))
	must(c.Timing("t", 150*time.Millisecond, nil, 1))
	must(c.TimeInMilliseconds("t", 250, nil, 1))
	must(c.Set("users", "alice", nil, 1))
	must(c.Set("users", "bob", nil, 1))
	must(c.Set("users", "alice", nil, 1))
	must(c.Flush())
	must(c.SimpleEvent("deploy", "v1.2 is out"))
	must(c.SimpleServiceCheck("app.db", statsd.Ok))
	must(c.Flush())

	// Extended client-side aggregation: samples packed into one line
	// (app.packed:1:2:3|h).
	agg, err := statsd.New(d.statsd, statsd.WithoutTelemetry(), statsd.WithExtendedClientSideAggregation(),
		statsd.WithoutOriginDetection(), statsd.WithNamespace("app."))
	if err != nil {
		t.Fatal(err)
	}
	defer agg.Close()
	for _, v := range []float64{1, 2, 3, 4} {
		must(agg.Histogram("packed", v, nil, 1))
	}
	must(agg.Flush())

	want := map[string]string{
		"app.queue": "12", "app.size.count": "2", "app.size.sum": "40", "app.size.min": "10", "app.size.max": "30",
		"app.size.mean": "20", "app.size.p50": "10", "app.size.p99": "30",
		"app.lat.count": "2", "app.lat.sum": "6", "app.lat.p50": "2",
		"app.t.count": "2", "app.t.sum": "400", "app.t.min": "150", "app.t.max": "250",
		"app.users.distinct": "2",
		"app.packed.count":   "4", "app.packed.sum": "10", "app.packed.p90": "4",
	}
	wantCounters := map[string]string{
		"app.jobs": "6", "app.req.code_200.env_prod": "3",
		"statsherd.statsd.dropped.value": "1", "statsherd.statsd.dropped.type": "2",
	}
	// Each name's lines came in one packet, so one poll's window holds
	// them all; wait for the poll that carries the timer and the packed
	// histogram (they may have been sent in different windows).
	seen := map[string]string{}
	var mismatch []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("values seen at the gatherer that differ: %v", mismatch)
		}
	})
	snapshotUntil(t, snapshot, "dogstatsd", "every value", func(s nodeStats) bool {
		for k := range want {
			// The first window that has the name's samples.
			if v, ok := s.Stats.Stats[k]; ok && seen[k] == "" && string(v) != "0" && string(v) != "null" {
				seen[k] = string(v)
			}
		}
		for k := range wantCounters {
			if v, ok := s.Stats.Counters[k]; ok {
				seen[k] = string(v)
			}
		}
		mismatch = mismatch[:0]
		for _, m := range []map[string]string{want, wantCounters} {
			for k, v := range m {
				if seen[k] != v {
					mismatch = append(mismatch, k+" = "+seen[k]+", want "+v)
				}
			}
		}
		return len(mismatch) == 0
	})
}
