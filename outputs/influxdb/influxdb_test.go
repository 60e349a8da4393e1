package influxdb_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/plugindoc"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/outputs/influxdb"
	"github.com/statsherd/statsherd/outputs/internal/fleettest"
	"github.com/statsherd/statsherd/sdk"
)

// statsherd is the binary under test, built from the working tree.
var statsherd string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"}))
}

// lockedWriter collects logs written from several goroutines.
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

// configure returns a configured output (fast retries, a queue of its
// own), closed at the test's end, with its logs.
func configure(t testing.TB, attrs map[string]any) (sdk.Output, *lockedWriter) {
	t.Helper()
	cfg := map[string]any{"dir": t.TempDir(), "min_backoff": int64(50 * time.Millisecond), "max_backoff": int64(200 * time.Millisecond)}
	for k, v := range attrs {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	logs := &lockedWriter{}
	o := influxdb.New(hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: logs}))
	if err := o.Configure(context.Background(), sdk.Config(b)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o, logs
}

// waitStats waits until the output's stats meet cond.
func waitStats(t testing.TB, o sdk.Output, logs fmt.Stringer, cond func(sdk.Stats) bool) sdk.Stats {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		st := o.(sdk.StatsReporter).Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats never met the condition: %v\n%s", st, logs)
		}
	}
}

type node struct{ id, nick string }

var nodes = []node{
	{"aaaabbbbccccddddeeeeffffgggghhhh", "storage-01"},
	{"bbbbccccddddeeeeffffgggghhhhiiii", "storage 02,eu=x"},
	{"ccccddddeeeeffffgggghhhhiiiijjjj", "ünï"},
}

// round is round r of the nodes at base + r seconds.
func round(base time.Time, r int) sdk.Round {
	at := base.Add(time.Duration(r) * time.Second)
	round := sdk.Round{Time: at}
	for i, n := range nodes {
		st := sdk.NewStats()
		st.Counters["storage_server.allocate"] = int64(1000*i + r)
		st.Stats["load_monitor.avg_load"] = sdk.Float(float64(i) + float64(r)/4)
		st.Stats["cpu_monitor.total"] = sdk.Int(int64(i + r)) // an integer stat: a float field
		st.Stats["storage_server.latencies.get.99_9_percentile"] = sdk.Null
		st.Stats["uptime"] = sdk.Float(float64(100*i + r))
		round.Nodes = append(round.Nodes, sdk.NodeSample{ID: n.id, Nickname: n.nick, Timestamp: at, Stats: st})
	}
	return round
}

// TestInfluxThreeRounds: three rounds of three nodes into a real influxd
// 1.6.7, a database with a retention policy of its own; every value is
// read back with /query under the documented measurement, field and
// tags, at its round's millisecond; counters are integer fields, stats
// float fields; unknown values have no field.
func TestInfluxThreeRounds(t *testing.T) {
	t.Parallel()
	s := startInflux(t)
	s.mustQuery("", `CREATE DATABASE "statsherd" WITH DURATION 30d NAME "month"`)
	s.mustQuery("", `CREATE RETENTION POLICY "week" ON "statsherd" DURATION 7d REPLICATION 1`)
	o, logs := configure(t, map[string]any{"url": s.URL(), "database": "statsherd", "retention_policy": "week",
		"tags": map[string]string{"gatherer": "eu-1"}, "batch_lines": 4})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for r := range 3 {
		if err := o.Write(context.Background(), round(base, r)); err != nil {
			t.Fatal(err)
		}
	}
	const fields = 4 // per node and round
	waitStats(t, o, logs, func(st sdk.Stats) bool { return st.Counters["sent_samples"] == 3*3*fields })

	type want struct{ m, field string }
	for _, w := range []want{
		{"statsherd_storage_server", "allocate"}, {"statsherd_load_monitor", "avg_load"},
		{"statsherd_cpu_monitor", "total"}, {"statsherd", "uptime"},
	} {
		got := s.mustQuery("statsherd", fmt.Sprintf(`SELECT %q FROM "week".%q GROUP BY *`, w.field, w.m))
		if len(got) != len(nodes) {
			t.Fatalf("%s.%s: %d series, want one per node: %v", w.m, w.field, len(got), got)
		}
		for _, res := range got {
			i := slices.IndexFunc(nodes, func(n node) bool { return n.id == res.Tags["node"] })
			if i < 0 {
				t.Fatalf("%s: series of an unknown node: %v", w.m, res.Tags)
			}
			if res.Tags["nickname"] != nodes[i].nick || res.Tags["gatherer"] != "eu-1" || len(res.Tags) != 3 {
				t.Errorf("%s: tags %v, want node, nickname %q and gatherer", w.m, res.Tags, nodes[i].nick)
			}
			for r, v := range res.Values {
				at := base.Add(time.Duration(r) * time.Second).UnixMilli()
				want := map[string]float64{
					"allocate": float64(1000*i + r), "avg_load": float64(i) + float64(r)/4,
					"total": float64(i + r), "uptime": float64(100*i + r),
				}[w.field]
				ms, _ := v[0].(json.Number).Int64()
				f, _ := v[1].(json.Number).Float64()
				if ms != at || f != want {
					t.Errorf("%s.%s of %s, round %d: %v at %d, want %v at %d", w.m, w.field, nodes[i].nick, r, f, ms, want, at)
				}
			}
			if len(res.Values) != 3 {
				t.Errorf("%s.%s of %s: %d points, want 3", w.m, w.field, nodes[i].nick, len(res.Values))
			}
		}
	}
	// Field types: counters integer, stats float; no field of the null.
	types := map[string]string{}
	for _, res := range s.mustQuery("statsherd", `SHOW FIELD KEYS FROM "week"./.*/`) {
		for _, v := range res.Values {
			types[res.Name+"."+v[0].(string)] = v[1].(string)
		}
	}
	wantTypes := map[string]string{
		"statsherd_storage_server.allocate": "integer", "statsherd_load_monitor.avg_load": "float",
		"statsherd_cpu_monitor.total": "float", "statsherd.uptime": "float",
	}
	if fmt.Sprint(types) != fmt.Sprint(wantTypes) {
		t.Errorf("field keys %v, want %v", types, wantTypes)
	}
	// The default retention policy got nothing.
	if got := s.mustQuery("statsherd", `SELECT * FROM "month"./.*/`); len(got) != 0 {
		t.Errorf("points in the default retention policy: %v", got)
	}
}

// TestInfluxLabels: series with labels, three rounds of three nodes,
// into a real influxd 1.6.7: SHOW TAG KEYS has the labels beside node,
// nickname and the static tag, a label named node as exported_node; a
// query grouped by a label tag has one series per label value and node,
// each value at its round's millisecond, the field named by the series'
// name; the label-less field of the same measurement keeps the node's
// tags alone.
func TestInfluxLabels(t *testing.T) {
	t.Parallel()
	s := startInflux(t)
	s.mustQuery("", `CREATE DATABASE "statsherd"`)
	o, logs := configure(t, map[string]any{"url": s.URL(), "database": "statsherd", "tags": map[string]string{"gatherer": "eu-1"}})
	codes := []string{"200", "500 x,y=z"}
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for r := range 3 {
		rd := round(base, r)
		for i := range rd.Nodes {
			st := rd.Nodes[i].Stats
			for c, code := range codes {
				st.Counters[`http.requests{code="`+code+`",node="lb"}`] = int64(100*i + 10*c + r)
			}
			st.Stats["http.open"] = sdk.Float(float64(i + r))
		}
		if err := o.Write(context.Background(), rd); err != nil {
			t.Fatal(err)
		}
	}
	const fields = 4 + 3 // per node and round: round's, and the http ones
	waitStats(t, o, logs, func(st sdk.Stats) bool { return st.Counters["sent_samples"] == 3*3*fields })

	var keys []string
	for _, res := range s.mustQuery("statsherd", `SHOW TAG KEYS FROM "statsherd_http"`) {
		for _, v := range res.Values {
			keys = append(keys, v[0].(string))
		}
	}
	if want := []string{"code", "exported_node", "gatherer", "nickname", "node"}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("tag keys %v, want %v", keys, want)
	}
	got := s.mustQuery("statsherd", `SELECT "requests" FROM "statsherd_http" GROUP BY "code", "node", "exported_node"`)
	if len(got) != len(codes)*len(nodes) {
		t.Fatalf("%d series of requests, want one per code and node: %v", len(got), got)
	}
	for _, res := range got {
		i := slices.IndexFunc(nodes, func(n node) bool { return n.id == res.Tags["node"] })
		c := slices.Index(codes, res.Tags["code"])
		if i < 0 || c < 0 || res.Tags["exported_node"] != "lb" {
			t.Fatalf("a series of unknown tags: %v", res.Tags)
		}
		if len(res.Values) != 3 {
			t.Errorf("requests %v: %d points, want 3", res.Tags, len(res.Values))
		}
		for r, v := range res.Values {
			ms, _ := v[0].(json.Number).Int64()
			f, _ := v[1].(json.Number).Int64()
			if at, want := base.Add(time.Duration(r)*time.Second).UnixMilli(), int64(100*i+10*c+r); ms != at || f != want {
				t.Errorf("requests %v, round %d: %d at %d, want %d at %d", res.Tags, r, f, ms, want, at)
			}
		}
	}
	open := s.mustQuery("statsherd", `SELECT "open" FROM "statsherd_http" WHERE "code" = '' GROUP BY *`)
	if len(open) != len(nodes) {
		t.Fatalf("%d series of open, want one per node: %v", len(open), open)
	}
	for _, res := range open {
		// GROUP BY * names every tag key of the measurement, empty if unset.
		if res.Tags["code"] != "" || res.Tags["exported_node"] != "" || res.Tags["gatherer"] != "eu-1" || len(res.Values) != 3 {
			t.Errorf("open: tags %v (want node, nickname, gatherer), %d points", res.Tags, len(res.Values))
		}
	}
	types := map[string]string{}
	for _, res := range s.mustQuery("statsherd", `SHOW FIELD KEYS FROM "statsherd_http"`) {
		for _, v := range res.Values {
			types[v[0].(string)] = v[1].(string)
		}
	}
	if want := map[string]string{"open": "float", "requests": "integer"}; fmt.Sprint(types) != fmt.Sprint(want) {
		t.Errorf("field keys %v, want %v", types, want)
	}
}

// TestRejected: the answers of a real influxd that mean never — a field
// whose type conflicts with the stored one (400), no such database (404)
// — drop the batch, counted and logged with InfluxDB's message; rounds
// after it are delivered.
func TestRejected(t *testing.T) {
	t.Parallel()
	s := startInflux(t)
	s.mustQuery("", `CREATE DATABASE "statsherd"`)
	// allocate stored as a float: the counter (an integer) conflicts.
	resp, err := http.Post(s.URL()+"/write?db=statsherd", "text/plain", strings.NewReader("statsherd_storage_server,node=x allocate=1.5\n"))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("seeding: %v %v", resp, err)
	}
	base := time.Now().Add(-time.Minute)
	for _, tt := range []struct{ name, db, msg string }{
		{"field type conflict", "statsherd", "field type conflict"},
		{"no such database", "nosuch", `database not found: \"nosuch\"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o, logs := configure(t, map[string]any{"url": s.URL(), "database": tt.db})
			if err := o.Write(context.Background(), round(base, 0)); err != nil {
				t.Fatal(err)
			}
			st := waitStats(t, o, logs, func(st sdk.Stats) bool { return st.Counters["rejected_requests"] > 0 })
			if st.Counters["retries"] != 0 {
				t.Errorf("a refusal for good was retried: %v", st)
			}
			if l := logs.String(); !strings.Contains(l, tt.msg) || !strings.Contains(l, "receiver refused") {
				t.Errorf("the log lacks InfluxDB's message %q:\n%s", tt.msg, l)
			}
		})
	}
}

// TestRetried: a 5xx, a 429 or a 401 (fix the password, and the rounds
// arrive) is retried until it succeeds.
func TestRetried(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	answers := []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusUnauthorized, http.StatusNoContent}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		code := answers[0]
		if len(answers) > 1 {
			answers = answers[1:]
		}
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	o, logs := configure(t, map[string]any{"url": srv.URL, "database": "statsherd", "batch_lines": 1000})
	if err := o.Write(context.Background(), round(time.Now(), 0)); err != nil {
		t.Fatal(err)
	}
	st := waitStats(t, o, logs, func(st sdk.Stats) bool { return st.Counters["sent_requests"] == 1 })
	if st.Counters["retries"] != 3 || st.Counters["rejected_requests"] != 0 {
		t.Errorf("want 3 retries and no refusal: %v", st)
	}
}

// TestV2: an InfluxDB 2.x setup writes to /api/v2/write with org,
// bucket, precision and the token from its file, gzip'd line protocol.
// (No InfluxDB 2 is packaged in Debian: the request is checked by a
// test server.)
func TestV2(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("s3cret-token\n"), 0o600)
	type req struct {
		path, query, auth, enc string
		body                   string
	}
	got := make(chan req, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if zr, err := gzip.NewReader(r.Body); err == nil {
			body, _ = io.ReadAll(zr)
		}
		got <- req{r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Encoding"), string(body)}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	o, logs := configure(t, map[string]any{"url": srv.URL + "/", "org": "ops", "bucket": "statsherd/autogen", "token_file": tokenFile})
	at := time.Now().Truncate(time.Millisecond)
	if err := o.Write(context.Background(), round(at, 0)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, o, logs, func(st sdk.Stats) bool { return st.Counters["sent_requests"] == 1 })
	r := <-got
	if r.path != "/api/v2/write" || r.query != "bucket=statsherd%2Fautogen&org=ops&precision=ms" || r.auth != "Token s3cret-token" || r.enc != "gzip" {
		t.Errorf("request %+v", r)
	}
	want := fmt.Sprintf(`statsherd,nickname=storage\ 02\,eu\=x,node=bbbbccccddddeeeeffffgggghhhhiiii uptime=100 %d`, at.UnixMilli())
	if !strings.Contains(r.body, want+"\n") {
		t.Errorf("body lacks %q:\n%s", want, r.body)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the token is in the logs")
	}
}

// TestE2EOutageAndKill9: a real gatherer and two real hosts; influxd is
// down while the gatherer writes rounds, is killed with -9, restarts and
// writes more (more than ten rounds in all); once influxd is back, every
// round written is in it, once, each node's point at its round's time.
func TestE2EOutageAndKill9(t *testing.T) {
	t.Parallel()
	s := startInflux(t)
	s.mustQuery("", `CREATE DATABASE "statsherd"`)
	s.stop()
	gdir := fleettest.NewGatherer(t, statsherd, "300ms", fmt.Sprintf(`
output "influxdb" {
  url         = %q
  database    = "statsherd"
  min_backoff = "50ms"
  max_backoff = "300ms"
}`, s.URL()))
	g := fleettest.StartGatherer(t, statsherd, gdir)
	for _, nick := range []string{"storage-01", "storage-02"} {
		fleettest.StartHost(t, statsherd, nick, gdir)
	}
	run1 := g.Written(t, 2, 5)
	if st := g.OutputStats("influxdb"); st["queue_samples"] == 0 || st["sent_samples"] != 0 {
		t.Errorf("influxd down, yet output stats %v", st)
	}
	g.Stop(syscall.SIGKILL)
	g = fleettest.StartGatherer(t, statsherd, gdir)
	run2 := g.Written(t, 2, 5)
	t.Logf("rounds written while influxd was down: %d before kill -9, %d after", run1, run2)

	s.start()
	fleettest.WaitFor(t, "the queue drained", g.Stderr.String, func() bool {
		st := g.OutputStats("influxdb")
		return st != nil && st["sent_samples"] > 0 && st["queue_samples"] == 0
	})
	var rounds []fleettest.Point
	fleettest.WaitFor(t, "both runs in influxd", s.log, func() bool {
		rounds = s.points("statsherd", "statsherd_statsherd", "gatherer.rounds", "nickname")["central"]
		r := fleettest.Runs(rounds)
		return len(r) == 2 && uint64(len(r[0])) >= run1 && uint64(len(r[1])) >= run2
	})
	// The gatherer goes on writing rounds: the hosts' points up to the
	// last round read above.
	lastRound := rounds[len(rounds)-1].MS
	polls := s.points("statsherd", "statsherd_statsherd", "polls", "nickname")
	delete(polls, "central")
	for nick, pts := range polls {
		for len(pts) > 0 && pts[len(pts)-1].MS > lastRound {
			pts = pts[:len(pts)-1]
		}
		polls[nick] = pts
	}
	if len(polls) != 2 {
		t.Fatalf("polls of %d hosts, want 2: %v", len(polls), polls)
	}
	fleettest.CheckOutage(t, rounds, run1, run2, polls)
}

// TestExampleHCL decodes example.hcl against the output's schema and
// configures the output with it; the README is held to the schema and
// stats.
func TestExampleHCL(t *testing.T) {
	plugindoc.CheckExample(t, sdk.KindOutput, influxdb.Name, influxdb.New(hclog.NewNullLogger()))
}

// TestConfigErrors: a bad setting is refused with the attribute named.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o600)
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"no scheme", map[string]any{"url": "influx:8086", "database": "s"}, "url"},
		{"write in url", map[string]any{"url": "http://influx:8086/write", "database": "s"}, "base URL"},
		{"user in url", map[string]any{"url": "http://u:p@influx:8086", "database": "s"}, "password_file"},
		{"nowhere", map[string]any{"url": "http://influx:8086"}, "neither database"},
		{"both", map[string]any{"url": "http://influx:8086", "database": "s", "bucket": "b", "org": "o"}, "use one kind"},
		{"bucket without org", map[string]any{"url": "http://influx:8086", "bucket": "b"}, "org and bucket"},
		{"rp without database", map[string]any{"url": "http://influx:8086", "retention_policy": "week"}, "database is empty"},
		{"empty password", map[string]any{"url": "http://influx:8086", "database": "s", "username": "u", "password_file": empty}, "password_file"},
		{"reserved tag", map[string]any{"url": "http://influx:8086", "database": "s", "tags": map[string]string{"node": "x"}}, "node"},
		{"tls over http", map[string]any{"url": "http://influx:8086", "database": "s", "tls_server_name": "x"}, "not https"},
		{"batch", map[string]any{"url": "http://influx:8086", "database": "s", "batch_lines": 0}, "batch_lines"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.attrs["dir"] = t.TempDir()
			b, _ := json.Marshal(tt.attrs)
			o := influxdb.New(hclog.NewNullLogger())
			err := o.Configure(context.Background(), sdk.Config(b))
			if err == nil {
				o.Close(context.Background())
				t.Fatal("configured")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
