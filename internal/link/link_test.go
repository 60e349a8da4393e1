package link

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"

	"github.com/statsherd/statsherd/internal/testbin"
)

const secret = "abcdefghijklmnopqrstuvwxyz234567"

// fakeGatherer accepts links, checks the secret, welcomes and polls them.
type fakeGatherer struct {
	id     *identity.Identity
	ln     net.Listener
	hellos atomic.Int64
	// answers receives each answer's stats and the peer's node id.
	answers chan answer
	// refuse, if set, is sent instead of a welcome.
	refuse string
	// hangUp closes each connection after one answer.
	hangUp bool
	// protocol is the version it welcomes hosts with (Negotiate if 0).
	protocol uint32
}

type answer struct {
	nodeID string
	stats  sdk.Stats
}

func newFake(t *testing.T) *fakeGatherer {
	t.Helper()
	return newFakeChain(t)
}

// newFakeChain is a fake gatherer whose TLS certificate message carries
// its own certificate followed by the DER certificates in more.
func newFakeChain(t *testing.T, more ...[]byte) *fakeGatherer {
	t.Helper()
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	cert := id.Cert
	cert.Certificate = append([][]byte{id.Cert.Certificate[0]}, more...)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS13,
	})
	if err != nil {
		t.Fatal(err)
	}
	g := &fakeGatherer{id: id, ln: ln, answers: make(chan answer, 100)}
	t.Cleanup(func() { ln.Close() })
	return g
}

func (g *fakeGatherer) start() *fakeGatherer {
	go func() {
		for {
			nc, err := g.ln.Accept()
			if err != nil {
				return
			}
			go g.handle(nc)
		}
	}()
	return g
}

func (g *fakeGatherer) furl() furl.FURL {
	return furl.FURL{Fingerprint: g.id.Fingerprint(), Hints: []string{g.ln.Addr().String()}, Secret: secret}
}

func (g *fakeGatherer) handle(nc net.Conn) {
	defer nc.Close()
	tc := nc.(*tls.Conn)
	if err := tc.Handshake(); err != nil {
		return
	}
	nodeID := identity.IDOf(tc.ConnectionState().PeerCertificates[0])
	c := wire.NewConn(nc, 0)
	m, err := c.Recv()
	if err != nil || m.GetHello() == nil {
		return
	}
	g.hellos.Add(1)
	if g.refuse != "" {
		c.Send(wire.NewRefuse(g.refuse))
		return
	}
	if m.GetHello().Secret != secret {
		c.Send(wire.NewRefuse("wrong secret"))
		return
	}
	protocol := g.protocol
	if protocol == 0 {
		protocol = wire.Negotiate(m.GetHello())
	}
	if err := c.Send(wire.NewWelcome(nodeID, 1000, protocol)); err != nil {
		return
	}
	for i := uint64(1); ; i++ {
		if err := c.Send(wire.NewPoll(i, 1000)); err != nil {
			return
		}
		m, err := c.Recv()
		if err != nil {
			return
		}
		a := m.GetAnswer()
		if a == nil || a.Id != i {
			return
		}
		st, _ := daemon.StatsFromProto(a.Stats)
		g.answers <- answer{nodeID: nodeID, stats: st}
		if g.hangUp {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func poll(ctx context.Context) sdk.Stats {
	st := sdk.NewStats()
	st.Counters["test.polls"] = 1
	st.Stats["test.deadline_set"] = sdk.Int(0)
	if _, ok := ctx.Deadline(); ok {
		st.Stats["test.deadline_set"] = sdk.Int(1)
	}
	return st
}

// testbin.Buffer is a log sink safe for concurrent use.

func testLogger(buf *testbin.Buffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: buf, Level: hclog.Debug})
}

func startLink(t *testing.T, cfg Config) *Link {
	t.Helper()
	if cfg.Identity == nil {
		cfg.Identity = newIdentity(t)
	}
	if cfg.Poll == nil {
		cfg.Poll = poll
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return l
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recvAnswer(t *testing.T, g *fakeGatherer) answer {
	t.Helper()
	select {
	case a := <-g.answers:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no answer reached the gatherer")
	}
	return answer{}
}

func TestAnswersPolls(t *testing.T) {
	t.Parallel()
	g := newFake(t).start()
	id := newIdentity(t)
	l := startLink(t, Config{Furl: g.furl(), Identity: id, Nickname: "n1"})
	a := recvAnswer(t, g)
	if a.nodeID != id.ID {
		t.Errorf("gatherer saw node id %s, want %s", a.nodeID, id.ID)
	}
	if a.stats.Counters["test.polls"] != 1 {
		t.Errorf("stats did not arrive: %+v", a.stats)
	}
	if v, _ := a.stats.Stats["test.deadline_set"].Int64(); v != 1 {
		t.Error("Poll was called without a deadline")
	}
	recvAnswer(t, g)
	waitFor(t, "status to show polls", func() bool { return l.Status().Polls >= 2 })
	st := l.Status()
	if !st.Connected || st.Gatherer != g.ln.Addr().String() || st.NodeID != id.ID || st.LastPoll.IsZero() {
		t.Errorf("status = %+v", st)
	}
	if strings.Contains(st.Furl, secret) {
		t.Errorf("status reveals the secret: %s", st.Furl)
	}
}

// TestLabelsByProtocol: a gatherer that speaks labels gets series as
// they are; one before labels (protocol 1) gets them folded into flat
// names, as tagged statsd lines have always been named.
func TestLabelsByProtocol(t *testing.T) {
	t.Parallel()
	key := sdk.MustSeries("http.requests", sdk.L("status", "500"))
	for _, tc := range []struct {
		protocol uint32
		want     string
	}{{0, key}, {wire.Protocol, "http.requests.status_500"}} {
		g := newFake(t)
		g.protocol = tc.protocol
		g.start()
		startLink(t, Config{Furl: g.furl(), Nickname: "n1", Poll: func(context.Context) sdk.Stats {
			st := sdk.NewStats()
			st.Counters[key] = 3
			return st
		}})
		if a := recvAnswer(t, g); a.stats.Counters[tc.want] != 3 || len(a.stats.Counters) != 1 {
			t.Errorf("protocol %d: gatherer got %v, want %s", tc.protocol, a.stats.Counters, tc.want)
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the furl the link gets, and the gatherer it talks to.
		setup      func(t *testing.T) (furl.FURL, *fakeGatherer)
		wantErr    string
		wantHellos int64 // hellos the gatherer may see: 0 means the secret never left
	}{
		{"impostor gatherer never sees the secret", func(t *testing.T) (furl.FURL, *fakeGatherer) {
			real, impostor := newFake(t), newFake(t).start()
			f := real.furl()
			f.Hints = []string{impostor.ln.Addr().String()}
			return f, impostor
		}, "does not match the furl's fingerprint", 0},
		{"impostor presenting his certificate then the real one", func(t *testing.T) (furl.FURL, *fakeGatherer) {
			// The real gatherer's certificate is public: an impostor
			// can send it after his own. Only the first certificate,
			// the one whose key signs the handshake, may be pinned.
			real := newFake(t)
			impostor := newFakeChain(t, real.id.Cert.Certificate[0]).start()
			f := real.furl()
			f.Hints = []string{impostor.ln.Addr().String()}
			return f, impostor
		}, "does not match the furl's fingerprint", 0},
		{"wrong secret", func(t *testing.T) (furl.FURL, *fakeGatherer) {
			g := newFake(t).start()
			f := g.furl()
			f.Secret = strings.Repeat("x", 32)
			return f, g
		}, "refused the connection: wrong secret", 1},
		{"gatherer refuses", func(t *testing.T) (furl.FURL, *fakeGatherer) {
			g := newFake(t)
			g.refuse = "too many connections"
			return g.furl(), g.start()
		}, "too many connections", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, g := tt.setup(t)
			l := startLink(t, Config{Furl: f})
			waitFor(t, "an error", func() bool {
				return l.Status().LastError != "" || (tt.wantHellos == 0 && g.hellos.Load() != 0)
			})
			st := l.Status()
			if !strings.Contains(st.LastError, tt.wantErr) || st.Connected {
				t.Errorf("status = %+v, want error containing %q", st, tt.wantErr)
			}
			if tt.wantHellos == 0 && g.hellos.Load() != 0 {
				t.Error("the link sent its hello (and secret) to a gatherer with the wrong fingerprint")
			}
		})
	}
}

func TestHintsInOrder(t *testing.T) {
	t.Parallel()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	g := newFake(t).start()
	f := g.furl()
	f.Hints = append([]string{deadAddr}, f.Hints...)
	l := startLink(t, Config{Furl: f})
	recvAnswer(t, g)
	if got := l.Status().Gatherer; got != g.ln.Addr().String() {
		t.Errorf("connected to %s, want the second hint %s", got, g.ln.Addr())
	}
}

func TestReconnects(t *testing.T) {
	t.Parallel()
	g := newFake(t)
	g.hangUp = true
	g.start()
	l := startLink(t, Config{Furl: g.furl()})
	for range 3 {
		recvAnswer(t, g)
	}
	waitFor(t, "three connects", func() bool { return l.Status().Connects >= 3 })
}

func TestUnreachableLoggedOncePerStep(t *testing.T) {
	t.Parallel()
	var hints []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hints = append(hints, ln.Addr().String())
		ln.Close()
	}
	f := furl.FURL{Fingerprint: strings.Repeat("a", 52), Hints: hints, Secret: secret}
	var buf testbin.Buffer
	l := startLink(t, Config{Furl: f, Log: testLogger(&buf)})
	waitFor(t, "three backoff steps", func() bool { return strings.Count(buf.String(), "gatherer unreachable") >= 3 })
	_ = l
	logs := buf.String()
	steps := strings.Count(logs, "gatherer unreachable")
	attempts := strings.Count(logs, "connection attempt failed")
	// Each step tries all three hints and logs once; the last step may be
	// under way.
	if attempts < 3*steps || attempts > 3*steps+3 {
		t.Errorf("%d warnings for %d attempts over 3 hints; want one per step of 3 attempts:\n%s", steps, attempts, logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "gatherer unreachable") && !(strings.Contains(line, hints[0]) && strings.Contains(line, hints[2])) {
			t.Errorf("warning does not name every hint: %s", line)
		}
	}
}

func TestBackoffCappedAndJittered(t *testing.T) {
	t.Parallel()
	for range 1000 {
		d := jitter(100 * time.Millisecond)
		if d < 50*time.Millisecond || d > 100*time.Millisecond {
			t.Fatalf("jitter(100ms) = %v, want within [50ms, 100ms]", d)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	f := furl.FURL{Fingerprint: strings.Repeat("a", 52), Hints: []string{"127.0.0.1:1"}, Secret: secret}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no identity", Config{Furl: f, Poll: poll}},
		{"no poll", Config{Furl: f, Identity: id}},
		{"no hints", Config{Furl: furl.FURL{Fingerprint: f.Fingerprint, Secret: secret}, Identity: id, Poll: poll}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := Run(t.Context(), tt.cfg); err == nil {
				t.Error("Run accepted an invalid config")
			}
		})
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	t.Parallel()
	g := newFake(t).start()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, Config{Furl: g.furl(), Identity: newIdentity(t), Poll: poll}) }()
	recvAnswer(t, g)
	cancel()
	select {
	case err := <-errc:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestBackoffGrowsWhenDroppedBeforeAnyPoll: a gatherer that welcomes and
// drops at once is not hammered every MinBackoff.
func TestBackoffGrowsWhenDroppedBeforeAnyPoll(t *testing.T) {
	t.Parallel()
	g := newFake(t)
	var welcomes atomic.Int64
	go func() {
		for {
			nc, err := g.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				c := wire.NewConn(nc, 0)
				if m, err := c.Recv(); err != nil || m.GetHello() == nil {
					return
				}
				welcomes.Add(1)
				c.Send(wire.NewWelcome("x", 1000, wire.MaxProtocol)) // and hang up at once
			}()
		}
	}()
	var buf testbin.Buffer
	startLink(t, Config{Furl: g.furl(), Log: testLogger(&buf), MinBackoff: 20 * time.Millisecond, MaxBackoff: 2 * time.Second})
	waitFor(t, "five lost connections", func() bool { return strings.Count(buf.String(), "lost connection to gatherer") >= 5 })
	// Waits double from 20 ms: the fifth retry waits at least 160 ms
	// (jittered down to half), where a reset backoff would stay at 20 ms.
	var waits []time.Duration
	for _, line := range strings.Split(buf.String(), "\n") {
		if i := strings.Index(line, "retry_in="); i >= 0 && strings.Contains(line, "lost connection") {
			d, err := time.ParseDuration(strings.Fields(line[i+len("retry_in="):])[0])
			if err == nil {
				waits = append(waits, d)
			}
		}
	}
	if len(waits) < 5 || waits[4] < 160*time.Millisecond {
		t.Errorf("retry waits %v: the backoff did not grow", waits)
	}
}

// TestBackoffCappedByPollInterval: once a gatherer has said its poll
// interval, the reconnect backoff never grows past it (a restarted
// gatherer gets its fleet back within about one poll interval), and a
// refusal sent after the welcome (revoked, over a quota) is reported.
func TestBackoffCappedByPollInterval(t *testing.T) {
	t.Parallel()
	g := newFake(t)
	go func() {
		for {
			nc, err := g.ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				c := wire.NewConn(nc, 0)
				if m, err := c.Recv(); err != nil || m.GetHello() == nil {
					return
				}
				c.Send(wire.NewWelcome("x", 100, wire.MaxProtocol))
				c.Send(wire.NewRefuse("over quota: too many stats"))
			}()
		}
	}()
	var buf testbin.Buffer
	l := startLink(t, Config{Furl: g.furl(), Log: testLogger(&buf), MinBackoff: 20 * time.Millisecond, MaxBackoff: time.Hour})
	waitFor(t, "eight lost connections", func() bool { return strings.Count(buf.String(), "lost connection to gatherer") >= 8 })
	var waits []time.Duration
	for _, line := range strings.Split(buf.String(), "\n") {
		if i := strings.Index(line, "retry_in="); i >= 0 && strings.Contains(line, "lost connection") {
			if !strings.Contains(line, "over quota: too many stats") {
				t.Errorf("the refusal's reason is not in the log: %s", line)
			}
			d, err := time.ParseDuration(strings.Fields(line[i+len("retry_in="):])[0])
			if err == nil {
				waits = append(waits, d)
			}
		}
	}
	for _, w := range waits {
		if w > 100*time.Millisecond {
			t.Errorf("retry waits %v: over the poll interval of 100ms", waits)
			break
		}
	}
	if !strings.Contains(l.Status().LastError, "gatherer refused the connection") {
		t.Errorf("last error %q", l.Status().LastError)
	}
}

// TestRefusalsToldApart: refusals a retry cannot fix are told apart from
// network errors and from each other by the gatherer's reason (as the
// gatherer words them), logged once with their fix however often the
// host asks again; a node waiting for approval asks every PendingInterval,
// the others every RefusedBackoff.
func TestRefusalsToldApart(t *testing.T) {
	t.Parallel()
	const pending, refusedBackoff, watch = 20 * time.Millisecond, 400 * time.Millisecond, 1500 * time.Millisecond
	for _, tt := range []struct {
		reason, kind, fix string
	}{
		{"waiting for approval: the gatherer's operator runs 'statsherd gatherer approve abc'", "pending", "statsherd gatherer approve"},
		{"this node is revoked by the gatherer's operator", "revoked", "approve it again"},
		{"wrong secret: get the current stats_gatherer.furl from the gatherer's base directory", "wrong_secret", "furl_file"},
		{"node abc is already connected from 10.0.0.2:4000; two hosts share one key", "duplicate_key", "its own basedir"},
		{"node abc is not on the gatherer's allowlist", "not_allowed", "allowlist"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			g := newFake(t)
			g.refuse = tt.reason
			g.start()
			var logs testbin.Buffer
			l := startLink(t, Config{Furl: g.furl(), Log: testLogger(&logs), RefusedBackoff: refusedBackoff, PendingInterval: pending})
			waitFor(t, "a refusal", func() bool { return l.Status().Refused != "" })
			time.Sleep(watch)
			if got := l.Status().Refused; got != tt.kind {
				t.Errorf("refused = %q, want %q", got, tt.kind)
			}
			hellos := g.hellos.Load()
			if tt.kind == "pending" && hellos < 10 {
				t.Errorf("a pending node asked %d times in %v, want about every %v", hellos, watch, pending)
			}
			if tt.kind != "pending" && hellos > int64(watch/refusedBackoff)+2 {
				t.Errorf("a %s node asked %d times in %v, want about every %v", tt.kind, hellos, watch, refusedBackoff)
			}
			out := logs.String()
			if n := strings.Count(out, "refusal="+tt.kind); n != 1 {
				t.Errorf("the refusal was logged %d times, want once:\n%s", n, out)
			}
			if !strings.Contains(out, tt.fix) || strings.Contains(out, "gatherer unreachable") {
				t.Errorf("the log does not give the fix %q, or calls it unreachable:\n%s", tt.fix, out)
			}
		})
	}
}
