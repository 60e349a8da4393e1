package tahoe

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// recorded are the answers of a real Tahoe-LAFS StatsProvider and
// StorageServer (testdata/record/README.md says how they were made).
var recorded = []string{"0-started", "1-immutable", "2-mutable", "3-restarted"}

func readRecorded(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tahoeJSON is the recorded answer as Python wrote it, decoded plainly.
type tahoeJSON struct {
	Counters map[string]json.Number  `json:"counters"`
	Stats    map[string]*json.Number `json:"stats"`
}

func decodePlain(t testing.TB, b []byte) tahoeJSON {
	t.Helper()
	var want tahoeJSON
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	if err := d.Decode(&want); err != nil {
		t.Fatal(err)
	}
	return want
}

// checkSame fails unless st holds exactly the node's counters and stats:
// counters equal, stats equal, null stats null.
func checkSame(t *testing.T, st sdk.Stats, want tahoeJSON) {
	t.Helper()
	if len(st.Counters) != len(want.Counters) {
		t.Errorf("%d counters, the node has %d", len(st.Counters), len(want.Counters))
	}
	for k, w := range want.Counters {
		wi, _ := w.Int64()
		if st.Counters[k] != wi {
			t.Errorf("counter %s = %d, the node says %s", k, st.Counters[k], w)
		}
	}
	nulls := 0
	for k, w := range want.Stats {
		got, ok := st.Stats[k]
		switch {
		case !ok:
			t.Errorf("stat %s missing", k)
		case w == nil:
			nulls++
			if !got.IsNull() {
				t.Errorf("stat %s = %v, the node says null", k, got)
			}
		default:
			wf, _ := w.Float64()
			if gf, ok := got.Float64(); !ok || gf != wf {
				t.Errorf("stat %s = %v, the node says %s", k, got, w)
			}
		}
	}
	t.Logf("%d counters, %d stats (%d null)", len(want.Counters), len(want.Stats), nulls)
}

func TestParseRecorded(t *testing.T) {
	t.Parallel()
	for _, name := range recorded {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := readRecorded(t, name)
			st, err := parseStatistics(b)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, st, decodePlain(t, b))
		})
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		wantErr    string
		counters   int
		stats      int
	}{
		{"html", "<html><body>Tahoe-LAFS</body></html>", "not Tahoe's statistics JSON", 0, 0},
		{"truncated", `{"counters": {"a": 1`, "not Tahoe's statistics JSON", 0, 0},
		{"other json", `{"hello": 1}`, `neither "counters" nor "stats"`, 0, 0},
		{"array", `[1, 2]`, "not Tahoe's statistics JSON", 0, 0},
		{"empty", ``, "not Tahoe's statistics JSON", 0, 0},
		{"trailing", `{"counters": {}, "stats": {}} {"x": 1}`, "more follows", 0, 0},
		{"trailing newline", "{\"counters\": {}, \"stats\": {}}\n", "", 0, 0},
		{"string value", `{"counters": {"a.b": "x", "a.c": 2}, "stats": {}}`, `counter "a.b": not a number`, 1, 0},
		{"bad name", `{"counters": {}, "stats": {"a b": 1, "ok": 2}}`, `stat "a b": not a statsherd name`, 0, 1},
		{"negative counter", `{"counters": {"a": -1}, "stats": {}}`, `negative`, 0, 0},
		{"float counter", `{"counters": {"a": 1.5}, "stats": {}}`, `not an integer`, 0, 0},
		{"null counter", `{"counters": {"a": null}, "stats": {"b": null}}`, "", 0, 1},
		{"booleans", `{"counters": {}, "stats": {"a": true, "b": false}}`, "", 0, 2},
		{"empty node", `{"counters": {}, "stats": {}}`, "", 0, 0},
		{"many bad", `{"counters": {"a": "1", "b": "2", "c": "3", "d": "4", "e": 5}}`, "and 1 more", 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := parseStatistics([]byte(tc.body))
			if tc.wantErr == "" && err != nil {
				t.Fatalf("error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
			if len(st.Counters) != tc.counters || len(st.Stats) != tc.stats {
				t.Errorf("got %d counters and %d stats, want %d and %d", len(st.Counters), len(st.Stats), tc.counters, tc.stats)
			}
		})
	}
}

// node is a recorded Tahoe node: an HTTP server answering statistics?t=json
// with the bytes Tahoe served. It counts connections and requests.
type node struct {
	srv   *httptest.Server
	body  atomic.Value // []byte
	conns atomic.Int64
	reqs  atomic.Int64
	// handle, if set, answers instead.
	handle func(w http.ResponseWriter, r *http.Request)
}

func newNode(t *testing.T, body []byte) *node {
	t.Helper()
	n := &node{}
	n.body.Store(body)
	n.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.reqs.Add(1)
		if n.handle != nil {
			n.handle(w, r)
			return
		}
		if r.URL.Path != "/statistics" || r.URL.Query().Get("t") != "json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain") // as Tahoe's render_JSON
		w.Write(n.body.Load().([]byte))
	}))
	n.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.conns.Add(1)
		}
	}
	n.srv.Start()
	t.Cleanup(n.srv.Close)
	return n
}

func (n *node) url() string { return n.srv.URL + "/" }

// writeNodeURL writes node.url as Tahoe's WebishServer does: the URL and a
// newline.
func writeNodeURL(t *testing.T, dir, u string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "node.url"), []byte(u+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func configured(t *testing.T, cfg string) *producer {
	t.Helper()
	p := New(hclog.NewNullLogger()).(*producer)
	if err := p.Configure(context.Background(), sdk.Config(cfg)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func jsonConfig(key, val string) string {
	b, _ := json.Marshal(map[string]string{key: val})
	return string(b)
}

func collect(t *testing.T, p *producer, timeout time.Duration) (sdk.Stats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Collect(ctx)
}

// TestNodeDirFollowsRestart replays the recorded node: the first process
// (immutable, then mutable traffic) and, after a restart on another port
// written to node.url, the second one with its new counters.
func TestNodeDirFollowsRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newNode(t, readRecorded(t, "0-started"))
	writeNodeURL(t, dir, first.url())
	p := configured(t, jsonConfig("node_dir", dir))
	for _, name := range recorded[:3] {
		b := readRecorded(t, name)
		first.body.Store(b)
		st, err := collect(t, p, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Stats["tahoe.up"] != sdk.Int(1) {
			t.Errorf("%s: tahoe.up = %v", name, st.Stats["tahoe.up"])
		}
		delete(st.Stats, "tahoe.up")
		checkSame(t, st, decodePlain(t, b))
	}
	if c := first.conns.Load(); c != 1 {
		t.Errorf("3 collects opened %d connections, want 1 kept alive", c)
	}

	// The node stops; until it is back node.url names the old port.
	first.srv.Close()
	st, err := collect(t, p, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), first.url()) || st.Stats["tahoe.up"] != sdk.Int(0) {
		t.Fatalf("a stopped node: stats %v, error %v; want tahoe.up 0 and an error naming %s", st.Stats, err, first.url())
	}
	second := newNode(t, readRecorded(t, "3-restarted"))
	writeNodeURL(t, dir, second.url())
	st, err = collect(t, p, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	delete(st.Stats, "tahoe.up")
	checkSame(t, st, decodePlain(t, readRecorded(t, "3-restarted")))
	if second.reqs.Load() != 1 {
		t.Errorf("the restarted node was asked %d times, want 1", second.reqs.Load())
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	gone := newNode(t, nil)
	goneURL := gone.url()
	gone.srv.Close()
	dir := t.TempDir()
	badURLDir := t.TempDir()
	writeNodeURL(t, badURLDir, "ftp://example.invalid/")
	emptyDir, bigDir := t.TempDir(), t.TempDir()
	writeNodeURL(t, emptyDir, "")
	writeNodeURL(t, bigDir, "http://127.0.0.1:1/"+strings.Repeat("x", maxNodeURL))
	cases := []struct {
		name    string
		handle  func(w http.ResponseWriter, r *http.Request)
		cfg     func(n *node) string
		wantErr string
	}{
		{"connection refused", nil, func(*node) string { return jsonConfig("url", goneURL) }, "cannot connect"},
		{"no node.url", nil, func(*node) string { return jsonConfig("node_dir", dir) }, "node.url"},
		{"node.url not http", nil, func(*node) string { return jsonConfig("node_dir", badURLDir) }, "not an http or https URL"},
		{"node.url empty", nil, func(*node) string { return jsonConfig("node_dir", emptyDir) }, "it is empty"},
		{"node.url too long", nil, func(*node) string { return jsonConfig("node_dir", bigDir) }, "longer than 4096 bytes"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, nil, "answered 404 Not Found"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, nil, "answered 302 Found"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>welcome</html>")) }, nil, "not Tahoe's statistics JSON"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"counters": {}, "stats": {"a": "`))
			w.Write(make([]byte, MaxBody))
		}, nil, "larger than 16777216 bytes"},
		{"cut short", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(`{"counters": {`))
		}, nil, "closed before a whole answer"},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, nil, "no answer before the collect's deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ""
			n := newNode(t, nil)
			n.handle = tc.handle
			if tc.cfg != nil {
				cfg = tc.cfg(n)
			} else {
				cfg = jsonConfig("url", n.url())
			}
			p := configured(t, cfg)
			var msgs []string
			for range 2 {
				start := time.Now()
				st, err := collect(t, p, time.Second)
				if time.Since(start) > time.Second {
					t.Errorf("Collect took %v, past its deadline", time.Since(start))
				}
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				if errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error %v wraps the context's deadline: the host would take the plugin for hung", err)
				}
				if st.Stats["tahoe.up"] != sdk.Int(0) || st.Len() != 1 {
					t.Errorf("stats %v, want only tahoe.up 0", st.Stats)
				}
				msgs = append(msgs, err.Error())
			}
			// The host logs an error when its text changes: the same
			// failure must read the same at every collect.
			if msgs[0] != msgs[1] {
				t.Errorf("the same failure reads differently:\n%s\n%s", msgs[0], msgs[1])
			}
			if tc.cfg == nil && !strings.Contains(msgs[0], n.url()) {
				t.Errorf("error %q does not name the URL", msgs[0])
			}
		})
	}
}

// TestPartlyBad: a node whose answer has a name statsherd cannot carry is
// up, with its other stats and an error naming the one left out.
func TestPartlyBad(t *testing.T) {
	t.Parallel()
	n := newNode(t, []byte(`{"counters": {"storage_server.get": 3, "bad name": 1}, "stats": {"node.uptime": 1.5}}`))
	p := configured(t, jsonConfig("url", n.url()))
	st, err := collect(t, p, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), `"bad name"`) {
		t.Errorf("error %v, want one naming the bad name", err)
	}
	if st.Stats["tahoe.up"] != sdk.Int(1) || st.Counters["storage_server.get"] != 3 || st.Stats["node.uptime"] != sdk.Float(1.5) {
		t.Errorf("stats %v", st)
	}
}

func TestRequestDeadline(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(10*time.Second))
	defer cancel()
	if d := requestDeadline(ctx, now).Sub(now); d != 9*time.Second {
		t.Errorf("10 s collect: request deadline in %v, want 9s", d)
	}
	short, cancel2 := context.WithDeadline(context.Background(), now.Add(200*time.Millisecond))
	defer cancel2()
	if d := requestDeadline(short, now).Sub(now); d != 150*time.Millisecond {
		t.Errorf("200 ms collect: request deadline in %v, want 150ms", d)
	}
	if d := requestDeadline(context.Background(), now).Sub(now); d != defaultTimeout {
		t.Errorf("no deadline: %v, want %v", d, defaultTimeout)
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "node_dir", Config: `{"node_dir": "/var/lib/tahoe"}`, OK: true},
		{Name: "url", Config: `{"url": "http://127.0.0.1:3456/"}`, OK: true},
		{Name: "url without slash", Config: `{"url": "http://127.0.0.1:3456"}`, OK: true},
		{Name: "neither", Config: `{}`, OK: false},
		{Name: "both", Config: `{"url": "http://127.0.0.1:3456/", "node_dir": "/x"}`, OK: false},
		{Name: "not http", Config: `{"url": "pb://abc@127.0.0.1:1/x"}`, OK: false},
		{Name: "no host", Config: `{"url": "http:///x"}`, OK: false},
		{Name: "query", Config: `{"url": "http://127.0.0.1:3456/?t=json"}`, OK: false},
		{Name: "unknown key", Config: `{"url": "http://127.0.0.1:3456/", "port": 1}`, OK: false},
	})
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if p.cfg.NodeDir != "/var/lib/tahoe/node" || p.cfg.URL != "" {
		t.Errorf("decoded %+v", p.cfg)
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	b := readRecorded(t, "2-mutable")
	n := newNode(t, b)
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	ctx := context.Background()
	if err := p.Configure(ctx, sdk.Config(jsonConfig("url", n.url()))); err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	delete(st.Stats, "tahoe.up")
	checkSame(t, st, decodePlain(t, b))
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}

func FuzzParseStatistics(f *testing.F) {
	for _, name := range recorded {
		f.Add(readRecorded(f, name))
	}
	f.Add([]byte(`{"counters": {"a": 1}, "stats": {"b": null, "c": 1e400}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, _ := parseStatistics(b)
		for name, v := range st.Counters {
			if sdk.ValidName(name) != nil || v < 0 {
				t.Fatalf("counter %q = %d kept", name, v)
			}
		}
		for name := range st.Stats {
			if sdk.ValidName(name) != nil {
				t.Fatalf("stat %q kept", name)
			}
		}
	})
}
