package host

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// newTestHost starts a host with no producer plugins, listening on
// loopback ports chosen by the kernel.
func newTestHost(t *testing.T) *Host {
	t.Helper()
	dir, err := os.MkdirTemp("", "sh") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := &config.Host{
		Nickname:    "test-node",
		Basedir:     dir,
		LogLevel:    "info",
		PollTimeout: 2 * time.Second,
		Reporting:   config.Reporting{StatsdListen: "127.0.0.1:0", Socket: filepath.Join(dir, "register.sock")},
		Status:      config.Status{Listen: "127.0.0.1:0"},
	}
	h, diags := New(t.Context(), cfg, Options{Logger: testLog(t), Builtins: builtin.Plugins()})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.WithoutCancel(t.Context())); err != nil {
			t.Error(err)
		}
	})
	return h
}

func readAddr(t *testing.T, h *Host, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.Config().Basedir, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// fakeProducer is a registered node program's producer.
type fakeProducer struct {
	stats sdk.Stats
	err   error
	delay time.Duration
}

func (p *fakeProducer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "fake"}, nil
}
func (p *fakeProducer) Configure(context.Context, sdk.Config) error { return nil }
func (p *fakeProducer) Close(context.Context) error                 { return nil }
func (p *fakeProducer) Collect(ctx context.Context) (sdk.Stats, error) {
	if p.delay > 0 {
		select {
		case <-time.After(p.delay):
		case <-ctx.Done():
			return sdk.Stats{}, ctx.Err()
		}
	}
	return p.stats, p.err
}

// pollUntil polls h until ok says the answer is right, or fails.
func pollUntil(t *testing.T, h *Host, what string, ok func(sdk.Stats) bool) sdk.Stats {
	t.Helper()
	var st sdk.Stats
	for i := 0; i < 200; i++ {
		st = h.Poll(t.Context())
		if ok(st) {
			return st
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("never %s; last answer %v", what, st)
	return st
}

func TestRegisteredProducer(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	sock := h.Config().Reporting.Socket
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("register socket: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	ctx, cancel := context.WithCancel(t.Context())
	p := &fakeProducer{stats: sdk.Stats{
		Counters: map[string]int64{"app.requests": 7},
		Stats:    map[string]sdk.Value{"app.load": sdk.Float(0.5)},
	}}
	done := make(chan error, 1)
	go func() { done <- report.RegisterProducer(ctx, sock, "app", p) }()
	st := pollUntil(t, h, "saw the registered producer", func(st sdk.Stats) bool { return st.Counters["app.requests"] == 7 })
	if v := st.Stats["app.load"]; v != sdk.Float(0.5) {
		t.Errorf("app.load = %v", v)
	}
	if v := st.Stats["statsherd.producer.app.up"]; v != sdk.Int(1) {
		t.Errorf("statsherd.producer.app.up = %v", v)
	}
	if v := st.Stats["statsherd.registered_producers"]; v != sdk.Int(1) {
		t.Errorf("statsherd.registered_producers = %v", v)
	}

	// A second program may not take the same name.
	err := report.RegisterProducer(t.Context(), sock, "app", p)
	var refused *report.RegisteredError
	if !errors.As(err, &refused) || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("second registration: %v, want refused", err)
	}

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RegisterProducer returned %v", err)
	}
	pollUntil(t, h, "forgot the producer", func(st sdk.Stats) bool {
		_, ok := st.Counters["app.requests"]
		return !ok && st.Stats["statsherd.registered_producers"] == sdk.Int(0)
	})
}

func TestRegisteredProducerErrorsAndSlowness(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	h.mu.Lock()
	h.cfg.PollTimeout = 200 * time.Millisecond
	h.mu.Unlock()
	sock := h.Config().Reporting.Socket
	partial := &fakeProducer{stats: sdk.Stats{Counters: map[string]int64{"half.done": 1, "bad name": 2}}, err: errors.New("disk gone")}
	slow := &fakeProducer{stats: sdk.Stats{Counters: map[string]int64{"slow.n": 1}}, delay: time.Hour}
	go report.RegisterProducer(t.Context(), sock, "half", partial)
	go report.RegisterProducer(t.Context(), sock, "slow", slow)
	st := pollUntil(t, h, "saw both producers", func(st sdk.Stats) bool {
		return st.Stats["statsherd.registered_producers"] == sdk.Int(2) && st.Counters["statsherd.producer.slow.failures"] > 0
	})
	if st.Counters["half.done"] != 1 {
		t.Errorf("partial stats lost: %v", st.Counters)
	}
	if _, ok := st.Counters["bad name"]; ok {
		t.Error("invalid name kept")
	}
	if st.Counters["statsherd.producer.half.failures"] == 0 {
		t.Error("the producer's error is not counted")
	}
	if _, ok := st.Counters["slow.n"]; ok {
		t.Error("the slow producer answered?")
	}
}

func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	sock := h.Config().Reporting.Socket
	tests := []struct {
		name, hello, want string
	}{
		{"not json", "hello\n", "JSON hello"},
		{"wrong protocol", `{"register":"a","protocol":99}` + "\n", "protocol"},
		{"invalid name", `{"register":"a b","protocol":1}` + "\n", "stat name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, tt.hello)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			var w report.Welcome
			if err := json.NewDecoder(conn).Decode(&w); err != nil {
				t.Fatal(err)
			}
			if w.OK || !strings.Contains(w.Error, tt.want) {
				t.Errorf("welcome %+v, want a refusal about %q", w, tt.want)
			}
		})
	}
}

func TestStatsdAndStatusPage(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	c, err := report.Dial(readAddr(t, h, "statsd.addr"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		if err := c.Count("node.ops", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Gauge("node.temp", -2.5); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, h, "counted 1000", func(st sdk.Stats) bool {
		return st.Counters["node.ops"] == 1000 && st.Stats["node.temp"] == sdk.Float(-2.5)
	})

	base := readAddr(t, h, "status.url")
	get := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	var st sdk.Stats
	if err := json.Unmarshal([]byte(get("statistics?t=json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Counters["node.ops"] != 1000 {
		t.Errorf("JSON status: node.ops = %d", st.Counters["node.ops"])
	}
	// status.url itself, as the gatherer's page, takes ?t=json.
	st = sdk.Stats{}
	if err := json.Unmarshal([]byte(get("?t=json")), &st); err != nil || st.Counters["node.ops"] != 1000 {
		t.Errorf("GET status.url?t=json: node.ops = %d (%v)", st.Counters["node.ops"], err)
	}
	text := get("statistics")
	for _, want := range []string{"test-node", "node.ops", "1000", "?t=json"} {
		if !strings.Contains(text, want) {
			t.Errorf("text status lacks %q:\n%s", want, text)
		}
	}
}

func TestNameConflictResolvedAndReported(t *testing.T) {
	t.Parallel()
	h := newTestHost(t)
	c, err := report.Dial(readAddr(t, h, "statsd.addr"))
	if err != nil {
		t.Fatal(err)
	}
	c.Count("shared.n", 100)
	c.Close()
	p := &fakeProducer{stats: sdk.Stats{Counters: map[string]int64{"shared.n": 1, "statsherd.polls": -1}}}
	go report.RegisterProducer(t.Context(), h.Config().Reporting.Socket, "app", p)
	for range 3 {
		st := pollUntil(t, h, "saw the conflicts", func(st sdk.Stats) bool {
			return st.Stats["statsherd.name_conflicts"] == sdk.Int(2)
		})
		if st.Counters["shared.n"] != 1 {
			t.Errorf("shared.n = %d: the registered producer comes before statsd", st.Counters["shared.n"])
		}
		if st.Counters["statsherd.polls"] < 1 {
			t.Errorf("statsherd.polls = %d: the host's own stats come first", st.Counters["statsherd.polls"])
		}
	}
}
