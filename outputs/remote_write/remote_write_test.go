package remote_write_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/plugindoc"
	"github.com/statsherd/statsherd/outputs/remote_write"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// configure starts an output with the given attributes (JSON, merged over
// a fast test setup) and a queue in dir.
func configure(t *testing.T, dir string, attrs map[string]any) sdk.Output {
	t.Helper()
	return configureAs(t, dir, attrs, func(o sdk.Output) sdk.Output { return o })
}

// configureAs is configure, the output as serve returns it: served over
// gRPC by plugintest.Output, it takes each round node by node (its
// sdk.NodeWriter), as under the gatherer.
func configureAs(t *testing.T, dir string, attrs map[string]any, serve func(sdk.Output) sdk.Output) sdk.Output {
	t.Helper()
	cfg := map[string]any{"dir": dir, "min_backoff": int64(20 * time.Millisecond), "max_backoff": int64(200 * time.Millisecond)}
	for k, v := range attrs {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	o := serve(remote_write.New(hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: testWriter{t}})))
	if err := o.Configure(context.Background(), sdk.Config(b)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o
}

// newOutput is an output that logs warnings to stderr.
func newOutput() sdk.Output {
	return remote_write.New(hclog.New(&hclog.LoggerOptions{Level: hclog.Warn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// fleetRound is round i of two nodes, taken at base + i seconds, with
// values that differ per node and round.
func fleetRound(base time.Time, i int) sdk.Round {
	at := base.Add(time.Duration(i) * time.Second)
	r := sdk.Round{Time: at}
	for n, id := range []string{"aaaabbbbccccdddd", "eeeeffffgggghhhh"} {
		r.Nodes = append(r.Nodes, sdk.NodeSample{ID: id, Nickname: fmt.Sprintf("storage-%02d", n+1), Timestamp: at.Add(-time.Millisecond),
			Stats: sdk.Stats{
				Counters: map[string]int64{"storage_server.allocate": int64(100*n + i)},
				Stats: map[string]sdk.Value{
					"load_monitor.avg_load":   sdk.Float(float64(n) + float64(i)/8),
					"storage_server.consumed": sdk.Null,
				},
			}})
	}
	return r
}

// wantSamples is what rounds 0…n-1 of fleetRound should leave in a store,
// with extra labels on every series.
func wantSamples(base time.Time, rounds int, extra map[string]string) series {
	want := series{}
	for i := 0; i < rounds; i++ {
		r := fleetRound(base, i)
		ms := r.Time.UnixMilli()
		for _, n := range r.Nodes {
			key := func(name string) string {
				l := map[string]string{"__name__": name, "nickname": n.Nickname, "node": n.ID}
				for k, v := range extra {
					l[k] = v
				}
				return labelKey(l)
			}
			c := key("statsherd_storage_server_allocate_total")
			want[c] = append(want[c], point{ms, float64(n.Stats.Counters["storage_server.allocate"])})
			f, _ := n.Stats.Stats["load_monitor.avg_load"].Float64()
			g := key("statsherd_load_monitor_avg_load")
			want[g] = append(want[g], point{ms, f})
		}
	}
	return want
}

// waitSeries polls the receiver until it holds want for selector (exactly
// those series and samples), or fails after 60 s with the difference.
func waitSeries(t *testing.T, r *receiver, selector string, want series) {
	t.Helper()
	var got series
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		got, err = r.query(selector)
		if err == nil && diff(got, want) == "" {
			return
		}
	}
	t.Fatalf("%s never held the samples sent (error %v):\n%s\nreceiver log:\n%s", r.kind, err, diff(got, want), r.log())
}

// diff describes how got differs from want ("" if equal).
func diff(got, want series) string {
	var b strings.Builder
	for k, w := range want {
		g := got[k]
		if fmt.Sprint(g) != fmt.Sprint(w) {
			fmt.Fprintf(&b, "%s:\n   got %v\n  want %v\n", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "unexpected %s: %v\n", k, g)
		}
	}
	return b.String()
}

// TestRealReceivers sends rounds to a real VictoriaMetrics and a real
// Prometheus and reads every value and timestamp back; to VictoriaMetrics
// also from the output served over gRPC, handed each round node by node.
func TestRealReceivers(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"vm", "vm-served", "prometheus"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var r *receiver
			if kind == "prometheus" {
				r = startProm(t)
			} else {
				r = startVM(t)
			}
			serve := func(o sdk.Output) sdk.Output { return o }
			if kind == "vm-served" {
				serve = func(o sdk.Output) sdk.Output { return plugintest.Output(t, o) }
			}
			o := configureAs(t, t.TempDir(), map[string]any{"url": r.WriteURL(), "labels": map[string]string{"gatherer": "eu-1"},
				"batch_samples": 3, "concurrency": 2}, serve)
			base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
			for i := 0; i < 5; i++ {
				if err := o.Write(context.Background(), fleetRound(base, i)); err != nil {
					t.Fatal(err)
				}
			}
			waitSeries(t, r, `{__name__=~"statsherd_(storage_server_allocate_total|load_monitor_avg_load)"}`,
				wantSamples(base, 5, map[string]string{"gatherer": "eu-1"}))
			// The last-seen gauge carries the node's answer time.
			got, err := r.query(`statsherd_node_last_seen_timestamp_seconds{nickname="storage-01"}`)
			if err != nil {
				t.Fatal(err)
			}
			for _, pts := range got {
				if len(pts) != 5 || math.Abs(pts[4].Value-float64(fleetRound(base, 4).Nodes[0].Timestamp.UnixMilli())/1000) > 1e-3 {
					t.Errorf("last seen: %v", pts)
				}
			}
		})
	}
}

// TestReceiverAway: rounds written while the receiver is down wait in the
// queue and arrive, in order and once each, when it is back.
func TestReceiverAway(t *testing.T) {
	t.Parallel()
	vm := startVM(t)
	vm.stop()
	o := configure(t, t.TempDir(), map[string]any{"url": vm.WriteURL()})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for i := 0; i < 4; i++ {
		if err := o.Write(context.Background(), fleetRound(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	vm.start()
	waitSeries(t, vm, `{__name__=~"statsherd_(storage_server_allocate_total|load_monitor_avg_load)"}`, wantSamples(base, 4, nil))
}

// TestRejected: a 4xx answer drops the request (counted, with the
// receiver's message logged); a 5xx or 429 is retried.
func TestRejected(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	var statuses = []int{503, 429, 400} // then 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" ||
			r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("headers %v", r.Header)
		}
		if int(n) <= len(statuses) {
			http.Error(w, "out of bounds: sample too old", statuses[n-1])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	logs := &lockedWriter{}
	o := remote_write.New(hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: logs}))
	cfg, _ := json.Marshal(map[string]any{"url": srv.URL, "dir": t.TempDir(), "min_backoff": int64(time.Millisecond), "max_backoff": int64(time.Millisecond)})
	if err := o.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	defer o.Close(context.Background())
	base := time.Now()
	for i := 0; i < 2; i++ {
		if err := o.Write(context.Background(), fleetRound(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	st := waitStats(t, o, func(st sdk.Stats) bool { return st.Counters["sent_samples"] > 0 })
	// Round 0: 503, 429 (retried), 400 (dropped). Round 1: 200.
	if st.Counters["rejected_samples"] != 6 || st.Counters["sent_samples"] != 6 || st.Counters["retries"] != 2 {
		t.Errorf("stats %v: want 6 rejected, 6 sent, 2 retries", st)
	}
	if l := logs.String(); !strings.Contains(l, "out of bounds: sample too old") || !strings.Contains(l, "status=400") {
		t.Errorf("the receiver's message is not logged:\n%s", l)
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitStats polls the output's stats until cond holds.
func waitStats(t *testing.T, o sdk.Output, cond func(sdk.Stats) bool) sdk.Stats {
	t.Helper()
	rep, ok := o.(sdk.StatsReporter)
	if !ok {
		t.Fatal("the output reports no stats")
	}
	var st sdk.Stats
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		st = rep.Stats()
		if cond(st) {
			return st
		}
	}
	t.Fatalf("stats never met the condition: %v", st)
	return st
}

// TestExampleHCL decodes example.hcl against the output's schema and
// configures the output with it; the README is held to the schema and
// stats.
func TestExampleHCL(t *testing.T) {
	plugindoc.CheckExample(t, sdk.KindOutput, remote_write.Name, remote_write.New(hclog.NewNullLogger()))
}

// TestConfigErrors: a bad setting is refused with the attribute named.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	secret := filepath.Join(dir, "empty")
	os.WriteFile(secret, nil, 0o600)
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"no url", map[string]any{}, "url is empty"},
		{"not http", map[string]any{"url": "ftp://x/y"}, "is not an http:// or https:// URL"},
		{"user in url", map[string]any{"url": "http://u:p@x/y"}, "basic_auth_user"},
		{"bad label", map[string]any{"url": "http://x/y", "labels": map[string]string{"a-b": "c"}}, `labels: "a-b" is not a valid`},
		{"reserved label", map[string]any{"url": "http://x/y", "labels": map[string]string{"node": "c"}}, `labels: "node" is set by statsherd`},
		{"tiny queue", map[string]any{"url": "http://x/y", "queue_max_bytes": 1000}, "queue_max_bytes"},
		{"zero concurrency", map[string]any{"url": "http://x/y", "concurrency": 0}, "concurrency"},
		{"empty token file", map[string]any{"url": "http://x/y", "bearer_token_file": secret}, "bearer_token_file " + secret + " is empty"},
		{"missing password file", map[string]any{"url": "http://x/y", "basic_auth_user": "u", "basic_auth_password_file": filepath.Join(dir, "nope")}, "basic_auth_password_file"},
		{"key without cert", map[string]any{"url": "https://x/y", "tls_key_file": secret}, "tls_cert_file and tls_key_file go together"},
		{"tls on http", map[string]any{"url": "http://x/y", "tls_insecure_skip_verify": true}, "not https"},
		{"unknown attribute", map[string]any{"url": "http://x/y", "colour": "red"}, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.attrs["dir"] = t.TempDir()
			b, _ := json.Marshal(tt.attrs)
			o := remote_write.New(hclog.NewNullLogger())
			err := o.Configure(context.Background(), sdk.Config(b))
			if err == nil {
				o.Close(context.Background())
				t.Fatal("configured")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
		})
	}
}

// TestStatsDeclared: the output reports exactly the stats it describes.
func TestStatsDeclared(t *testing.T) {
	t.Parallel()
	o := configure(t, t.TempDir(), map[string]any{"url": "http://127.0.0.1:1/api/v1/write"})
	info, _ := o.Describe(context.Background())
	st := o.(sdk.StatsReporter).Stats()
	if len(info.Stats) != st.Len() {
		t.Errorf("describes %d stats, reports %d: %v", len(info.Stats), st.Len(), st)
	}
	for _, si := range info.Stats {
		_, isCounter := st.Counters[si.Name]
		_, isStat := st.Stats[si.Name]
		if isCounter != (si.Kind == sdk.Counter) || isStat != (si.Kind == sdk.Stat) {
			t.Errorf("%s: described as %s, reported as counter %v, stat %v", si.Name, si.Kind, isCounter, isStat)
		}
	}
}
