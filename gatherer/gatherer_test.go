package gatherer

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/internal/supervisor"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/fanout"
	"github.com/statsherd/statsherd/internal/testbin"
)

// fakeOutput records rounds; block, if set, holds every Write until closed.
type fakeOutput struct {
	name   string
	fail   bool // every Write fails
	block  chan struct{}
	mu     sync.Mutex
	rounds []sdk.Round
	stops  int
	got    chan sdk.Round // decoded, as a plugin receives it
	raw    chan sdk.Round // as written (the newest are dropped when full)
	// asWritten records and sends on got the rounds as written, not
	// decoded (for benchmarks).
	asWritten bool
}

func newOutput(name string) *fakeOutput {
	return &fakeOutput{name: name, got: make(chan sdk.Round, 1000), raw: make(chan sdk.Round, 1000)}
}

func (o *fakeOutput) Name() string { return o.name }

func (o *fakeOutput) Write(ctx context.Context, r sdk.Round) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("write without deadline")
	}
	if o.block != nil {
		select {
		case <-o.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if o.fail {
		return errors.New("disk full")
	}
	select {
	case o.raw <- r:
	default:
	}
	// Nodes that carry their encoding (hosts' answers) are decoded, as
	// by an output plugin.
	if !o.asWritten {
		var err error
		if r, err = daemon.DecodedRound(r); err != nil {
			return err
		}
	}
	o.mu.Lock()
	o.rounds = append(o.rounds, r)
	o.mu.Unlock()
	o.got <- r
	return nil
}

func (o *fakeOutput) State() supervisor.State { return supervisor.State{Name: o.name, Up: true} }

func (o *fakeOutput) Stop(context.Context) {
	o.mu.Lock()
	o.stops++
	o.mu.Unlock()
}

// testbin.Buffer is a log sink safe for concurrent use.

type testGatherer struct {
	*Gatherer
	logs *testbin.Buffer
	stop func()
}

func testConfig(t testing.TB) *config.Gatherer {
	cfg := config.DefaultGatherer(t.TempDir())
	if _, err := basedir.Init(cfg.Basedir); err != nil {
		t.Fatal(err)
	}
	cfg.PollInterval = 100 * time.Millisecond
	cfg.PollTimeout = 80 * time.Millisecond
	cfg.OutputTimeout = 5 * time.Second
	cfg.StatusListen = "127.0.0.1:0"
	cfg.Listen.Address = "127.0.0.1"
	cfg.Listen.Location = []string{"127.0.0.1"}
	cfg.Listen.HandshakeTimeout = 2 * time.Second
	return cfg
}

func startGatherer(t *testing.T, cfg *config.Gatherer, outs ...Output) *testGatherer {
	t.Helper()
	logs := &testbin.Buffer{}
	g, err := Open(cfg, outs, hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return &testGatherer{Gatherer: g, logs: logs, stop: stop}
}

// startHost runs an in-process host with its own identity.
func startHost(t *testing.T, f furl.FURL, nick string, poll func(context.Context) sdk.Stats) (*link.Link, *identity.Identity, context.CancelFunc) {
	t.Helper()
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	if poll == nil {
		poll = func(context.Context) sdk.Stats {
			st := sdk.NewStats()
			st.Counters["test.host"] = 1
			return st
		}
	}
	l, err := link.New(link.Config{Furl: f, Identity: id, Nickname: nick, Poll: poll,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return l, id, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roundWith waits for a round holding every one of ids.
func roundWith(t *testing.T, o *fakeOutput, ids ...string) sdk.Round {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case r := <-o.got:
			have := map[string]bool{}
			for _, n := range r.Nodes {
				have[n.ID] = true
			}
			all := true
			for _, id := range ids {
				all = all && have[id]
			}
			if all {
				return r
			}
		case <-deadline:
			t.Fatalf("no round with nodes %v reached output %s", ids, o.name)
		}
	}
}

func TestHostsReachOutputs(t *testing.T) {
	t.Parallel()
	a, b := newOutput("a"), newOutput("b")
	g := startGatherer(t, testConfig(t), a, b)
	var ids []string
	for _, nick := range []string{"storage-01", "storage-02", "storage-03"} {
		_, id, _ := startHost(t, g.Furl(), nick, nil)
		ids = append(ids, id.ID)
	}
	for _, o := range []*fakeOutput{a, b} {
		r := roundWith(t, o, append(ids, g.ID())...)
		for _, n := range r.Nodes {
			if n.Timestamp.IsZero() || n.Timestamp.Before(r.Time) {
				t.Errorf("node %s stamped %v, before the round began at %v", n.ID, n.Timestamp, r.Time)
			}
			if n.ID == g.ID() {
				if n.Nickname != config.DefaultGathererNickname {
					t.Errorf("gatherer node nickname %q", n.Nickname)
				}
				if v, _ := n.Stats.Stats["statsherd.gatherer.hosts_connected"].Int64(); v != 3 {
					t.Errorf("hosts_connected = %v, want 3", n.Stats.Stats["statsherd.gatherer.hosts_connected"])
				}
				if _, ok := n.Stats.Stats["statsherd.output.a.up"]; !ok {
					t.Errorf("gatherer node lacks output plugin state: %v", n.Stats.Stats)
				}
				continue
			}
			if !strings.HasPrefix(n.Nickname, "storage-0") || n.Stats.Counters["test.host"] != 1 {
				t.Errorf("node %+v", n)
			}
		}
	}
	logs := g.logs.String()
	if strings.Count(logs, "connect:") < 3 || !strings.Contains(logs, "nickname=storage-01") {
		t.Errorf("connects not logged:\n%s", logs)
	}
}

func TestFailedHostDropped(t *testing.T) {
	t.Parallel()
	out := newOutput("o")
	cfg := testConfig(t)
	g := startGatherer(t, cfg, out)
	hang := make(chan struct{})
	defer close(hang)
	_, slow, _ := startHost(t, g.Furl(), "slow", func(ctx context.Context) sdk.Stats {
		select { // answers late: past the poll's deadline
		case <-hang:
		case <-time.After(time.Second):
		}
		return sdk.NewStats()
	})
	_, fast, _ := startHost(t, g.Furl(), "fast", nil)
	r := roundWith(t, out, fast.ID)
	for _, n := range r.Nodes {
		if n.ID == slow.ID {
			t.Error("a host that answered late is in the round")
		}
	}
	waitFor(t, "a poll failure", func() bool { return g.stats.pollFailures.Load() > 0 })
	waitFor(t, "the slow host to be dropped", func() bool { return strings.Contains(g.logs.String(), "poll failed, dropping host") })
	// The round's length is bounded by the poll timeout, not the host.
	if rs := g.rounds.status(); rs.PollSeconds > 0.9 {
		t.Errorf("a round took %.2fs with a host that hangs 1s; the poll timeout is %v", rs.PollSeconds, cfg.PollTimeout)
	}
}

// TestDuplicateKeyRefused: a second connection with a key already
// connected is refused with a WARN naming both addresses; the first stays.
func TestDuplicateKeyRefused(t *testing.T) {
	t.Parallel()
	g := startGatherer(t, testConfig(t))
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	var links []*link.Link
	for i := range 2 {
		l, err := link.New(link.Config{Furl: g.Furl(), Identity: id, Nickname: fmt.Sprintf("twin-%d", i),
			Poll: func(context.Context) sdk.Stats { return sdk.NewStats() }, MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		t.Cleanup(cancel)
		go l.Run(ctx)
		if i == 0 {
			waitFor(t, "connect", func() bool { return l.Status().Connects == 1 })
		}
		links = append(links, l)
	}
	waitFor(t, "the twin refused", func() bool { return strings.Contains(links[1].Status().LastError, "already connected") })
	time.Sleep(500 * time.Millisecond) // several rounds and retries
	if st := links[0].Status(); !st.Connected || st.Connects != 1 {
		t.Errorf("the first connection was disturbed: %+v", st)
	}
	if st := links[1].Status(); st.Connects != 0 {
		t.Errorf("the twin was welcomed %d times", st.Connects)
	}
	if hs := g.Status().Hosts; len(hs) != 1 || hs[0].Nickname != "twin-0" {
		t.Errorf("hosts = %+v, want twin-0 only", hs)
	}
	if !hasLogLine(g.logs.String(), "[WARN]", "refused peer", "kind=duplicate_node_id", "node="+id.ID, "address=127.0.0.1:", "already connected from 127.0.0.1:") {
		t.Errorf("no WARN naming both addresses:\n%s", g.logs.String())
	}
}

func hasLogLine(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func rawTLS(t *testing.T, g *testGatherer, cert bool) *tls.Conn {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cert {
		id, err := identity.New()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{id.Cert}
	}
	c, err := tls.Dial("tcp", g.Addr().String(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// peer misbehaves; it returns what the peer read back, if anything.
		peer    func(t *testing.T, g *testGatherer) string
		wantLog string
		wantMsg string // in what the peer read back
	}{
		{"wrong secret", func(t *testing.T, g *testGatherer) string {
			c := wire.NewConn(rawTLS(t, g, true), 0)
			if err := c.Send(wire.NewHello(strings.Repeat("x", 32), "bad", nil)); err != nil {
				t.Fatal(err)
			}
			m, err := c.Recv()
			if err != nil {
				t.Fatal(err)
			}
			return m.GetRefuse().GetReason()
		}, "reason=\"wrong secret", "wrong secret"},
		{"no client certificate", func(t *testing.T, g *testGatherer) string {
			c := wire.NewConn(rawTLS(t, g, false), 0)
			c.Send(wire.NewHello(g.secret, "anon", nil))
			_, err := c.Recv()
			if err == nil {
				t.Error("a peer without certificate got an answer")
			}
			return ""
		}, "certificate", ""},
		{"garbage", func(t *testing.T, g *testGatherer) string {
			c, err := net.Dial("tcp", g.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
			io.Copy(io.Discard, c)
			return ""
		}, "tls handshake", ""},
		{"stalls mid-handshake", func(t *testing.T, g *testGatherer) string {
			c, err := net.Dial("tcp", g.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.Copy(io.Discard, c) // until the gatherer gives up
			return ""
		}, "handshake not done within", ""},
		{"stalls after tls", func(t *testing.T, g *testGatherer) string {
			c := rawTLS(t, g, true)
			io.Copy(io.Discard, c)
			return ""
		}, "reading hello: handshake not done within", ""},
		{"huge message", func(t *testing.T, g *testGatherer) string {
			c := rawTLS(t, g, true)
			c.Write(binary.BigEndian.AppendUint32(nil, 1<<30))
			io.Copy(io.Discard, c)
			return ""
		}, "message too large", ""},
		{"not a hello", func(t *testing.T, g *testGatherer) string {
			c := wire.NewConn(rawTLS(t, g, true), 0)
			c.Send(wire.NewPoll(1, 1))
			m, err := c.Recv()
			if err != nil {
				t.Fatal(err)
			}
			return m.GetRefuse().GetReason()
		}, "instead of hello", "instead of hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.Listen.HandshakeTimeout = 300 * time.Millisecond
			g := startGatherer(t, cfg)
			got := tt.peer(t, g)
			if !strings.Contains(got, tt.wantMsg) {
				t.Errorf("peer read %q, want %q", got, tt.wantMsg)
			}
			waitFor(t, "a refusal", func() bool { return g.stats.refused.Load() == 1 })
			logs := g.logs.String()
			if !strings.Contains(logs, "refused peer: address=127.0.0.1:") || !strings.Contains(logs, tt.wantLog) {
				t.Errorf("logs lack the refusal with address and %q:\n%s", tt.wantLog, logs)
			}
			if n := len(g.Status().Hosts); n != 0 {
				t.Errorf("%d hosts connected after a refusal", n)
			}
		})
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Listen.MaxConnections = 1
	g := startGatherer(t, cfg)
	startHost(t, g.Furl(), "first", nil)
	waitFor(t, "the first host", func() bool { return len(g.Status().Hosts) == 1 })
	l2, _, _ := startHost(t, g.Furl(), "second", nil)
	waitFor(t, "a refusal", func() bool { return g.stats.refused.Load() > 0 })
	if l2.Status().Connected {
		t.Error("a connection beyond the limit was welcomed")
	}
	if !strings.Contains(g.logs.String(), "too many connections") {
		t.Error("the refusal does not say why")
	}
}

func TestSlowOutputNeverBlocksOthers(t *testing.T) {
	t.Parallel()
	slow, fast := newOutput("slow"), newOutput("fast")
	slow.block = make(chan struct{})
	cfg := testConfig(t)
	cfg.OutputQueue = 2
	g := startGatherer(t, cfg, slow, fast)
	for range 8 {
		select {
		case <-fast.got:
		case <-time.After(10 * time.Second):
			t.Fatal("the fast output stopped getting rounds")
		}
	}
	var st fanout.Status
	for _, s := range g.Status().Outputs {
		if s.Name == "slow" {
			st = s
		}
	}
	if st.Coalesced == 0 || st.Queued > cfg.OutputQueue+1 {
		t.Errorf("slow output status %+v: want coalesced rounds and at most %d queued", st, cfg.OutputQueue+1)
	}
	close(slow.block)
	g.stop()
	slow.mu.Lock()
	defer slow.mu.Unlock()
	if slow.stops != 1 || len(slow.rounds) == 0 {
		t.Errorf("slow output: %d stops, %d rounds written at shutdown", slow.stops, len(slow.rounds))
	}
	if fast.stops != 1 {
		t.Errorf("fast output stopped %d times", fast.stops)
	}
}

func TestFailingOutputCounted(t *testing.T) {
	t.Parallel()
	bad, good := newOutput("bad"), newOutput("good")
	bad.fail = true
	g := startGatherer(t, testConfig(t), bad, good)
	var self sdk.NodeSample
	waitFor(t, "output errors in the gatherer's own stats", func() bool {
		r := <-good.got
		for _, n := range r.Nodes {
			if n.ID == g.ID() {
				self = n
			}
		}
		return self.Stats.Counters["statsherd.gatherer.output_errors"] > 0
	})
	for _, s := range g.Status().Outputs {
		if s.Name == "bad" && (s.Errors == 0 || s.LastError != "disk full") {
			t.Errorf("bad output status %+v", s)
		}
	}
	if !strings.Contains(g.logs.String(), "output write failed: output=bad") {
		t.Error("the failure is not logged")
	}
}

func TestStatusPage(t *testing.T) {
	t.Parallel()
	out := newOutput("munin")
	g := startGatherer(t, testConfig(t), out)
	_, id, _ := startHost(t, g.Furl(), "storage-<01>", nil)
	roundWith(t, out, id.ID)
	b, err := os.ReadFile(filepath.Join(g.cfg.Basedir, basedir.StatusURLFile))
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(string(b))
	tests := []struct {
		name, query, wantType string
		check                 func(t *testing.T, body []byte)
	}{
		{"html", "", "text/html", func(t *testing.T, body []byte) {
			if !bytes.Contains(body, []byte("storage-&lt;01&gt;")) || !bytes.Contains(body, []byte(id.ID)) {
				t.Errorf("page lacks the host (escaped):\n%s", body)
			}
		}},
		{"json without hosts", "?t=json&hosts=0", "application/json", func(t *testing.T, body []byte) {
			var s Status
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Hosts) != 0 || s.HostsConnected != 1 {
				t.Errorf("hosts=0: %d hosts listed, %d connected", len(s.Hosts), s.HostsConnected)
			}
			if s.Fleet == nil || s.Fleet.Total != 1 {
				t.Errorf("hosts=0: fleet view %+v, want the one node", s.Fleet)
			}
		}},
		{"json without hosts or fleet", "?t=json&hosts=0&fleet=0", "application/json", func(t *testing.T, body []byte) {
			var s Status
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Hosts) != 0 || s.HostsConnected != 1 || s.Rounds == 0 || s.LastRound.Seq == 0 {
				t.Errorf("hosts=0&fleet=0: %d hosts listed, %d connected, %d rounds, last %+v", len(s.Hosts), s.HostsConnected, s.Rounds, s.LastRound)
			}
			if s.Fleet != nil || bytes.Contains(body, []byte(`"fleet"`)) {
				t.Errorf("fleet=0: the fleet view is in the answer: %s", body)
			}
		}},
		{"json", "?t=json", "application/json", func(t *testing.T, body []byte) {
			var s Status
			if err := json.Unmarshal(body, &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Hosts) != 1 || s.Hosts[0].ID != id.ID || s.Hosts[0].LastAnswer.IsZero() || len(s.Outputs) != 1 || s.Rounds == 0 {
				t.Errorf("status %+v", s)
			}
			if strings.Contains(string(body), g.secret) {
				t.Error("status page reveals the secret")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(url + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) {
				t.Fatalf("%s: %s", resp.Status, resp.Header.Get("Content-Type"))
			}
			tt.check(t, body)
		})
	}
}

func TestRestartKeepsPortAndFurl(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	g1 := startGatherer(t, cfg)
	f1 := g1.Furl()
	g1.stop()
	g2 := startGatherer(t, cfg)
	if g2.Furl().String() != f1.String() {
		t.Errorf("furl changed across restart:\n%s\n%s", f1, g2.Furl())
	}
	onDisk, err := furl.ReadFile(filepath.Join(cfg.Basedir, basedir.FurlFile))
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.String() != f1.String() {
		t.Errorf("furl file %s, want %s", onDisk, f1)
	}
	fi, err := os.Stat(filepath.Join(cfg.Basedir, basedir.FurlFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("furl file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "g")
	f, err := basedir.Create(dir, basedir.CreateOptions{Location: []string{"gw.example.org", "10.0.0.5:4000"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Hints) != 2 || !strings.HasPrefix(f.Hints[0], "gw.example.org:") || f.Hints[1] != "10.0.0.5:4000" {
		t.Errorf("hints %v", f.Hints)
	}
	cfg, diags := config.LoadGatherer(config.NewParser(), filepath.Join(dir, config.GathererFileName))
	if diags.HasErrors() {
		t.Fatalf("the created gatherer.hcl does not load: %v", diags)
	}
	if len(cfg.Outputs) != 1 || cfg.Outputs[0].Name != "munin" {
		t.Errorf("created config outputs %+v", cfg.Outputs)
	}
	port, err := basedir.ReadPortFile(dir)
	if err != nil || port == 0 {
		t.Fatalf("portnum: %d, %v", port, err)
	}
	// The layout: a directory munin's plugin user can enter, secrets only
	// the owner reads (TestLayoutAsMuninUser proves it as that user).
	for name, want := range map[string]os.FileMode{
		".": basedir.Mode, basedir.IdentityName + ".key": 0o600, basedir.SecretFile: 0o600, basedir.FurlFile: 0o600, config.GathererFileName: 0o644,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", name, fi.Mode().Perm(), err, want)
		}
	}
	if _, err := basedir.Create(dir, basedir.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "already a gatherer base directory") {
		t.Errorf("second Create = %v", err)
	}
	cfg.StatusListen = ""
	g := startGatherer(t, cfg)
	if g.Furl().String() != f.String() {
		t.Errorf("the running gatherer's furl differs from the one create printed:\n%s\n%s", f, g.Furl())
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{"bad portnum", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, basedir.PortFile), []byte("x\n"), 0o644)
		}, "not a port number"},
		{"damaged secret", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, basedir.SecretFile), []byte("!!\n"), 0o600)
		}, "secret file"},
		{"saved port taken", func(t *testing.T, dir string) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			port := ln.Addr().(*net.TCPAddr).Port
			os.WriteFile(filepath.Join(dir, basedir.PortFile), []byte(fmt.Sprintf("%d\n", port)), 0o644)
		}, "is another gatherer running there?"},
		{"basedir is a file", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
			os.WriteFile(dir, nil, 0o600)
		}, "cannot be a gatherer base directory"},
		{"never created", func(t *testing.T, dir string) {
			os.RemoveAll(dir)
		}, "is not a gatherer base directory (it has no gatherer.key): make one with 'statsherd create-gatherer"},
		{"key gone", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, basedir.IdentityName+".key"))
		}, "or start with -create"},
		{"secret readable by others", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, basedir.SecretFile), 0o644)
		}, "is readable by others (mode 0644): run chmod 600"},
		{"key readable by others", func(t *testing.T, dir string) {
			os.Chmod(filepath.Join(dir, basedir.IdentityName+".key"), 0o640)
		}, "readable by others"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			tt.setup(t, cfg.Basedir)
			_, err := Open(cfg, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestStatusPprof: `status { pprof = true }` serves Go's heap profile on
// the status page; without it there is none.
func TestStatusPprof(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("pprof=%v", on), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(t)
			cfg.StatusPprof = on
			g := startGatherer(t, cfg, newOutput("munin"))
			var b []byte
			waitFor(t, "the status page's URL", func() bool {
				var err error
				b, err = os.ReadFile(filepath.Join(g.cfg.Basedir, basedir.StatusURLFile))
				return err == nil
			})
			resp, err := http.Get(strings.TrimSpace(string(b)) + "debug/pprof/heap?debug=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("heap profile"))
			if got != on {
				t.Errorf("status %d, body starts %.80q: heap profile served = %v, want %v", resp.StatusCode, body, got, on)
			}
		})
	}
}
