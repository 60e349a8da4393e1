package gatherer

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/wire"
)

// readerModes are the two ways the gatherer reads its hosts'
// connections, for tests to run both: the idle watcher (Linux) and a
// reader goroutine per host (elsewhere).
var readerModes = []struct {
	name          string
	readerPerHost bool
}{{"idle watcher", false}, {"reader per host", true}}

// TestIdleConnections: between polls, a host connection is watched (by
// the idle watcher on Linux, by a reader goroutine per host elsewhere;
// both are run here): a host that hangs up is noticed at once, without a
// poll, and may connect again with its key; bytes sent while no poll is
// in flight end the connection and are counted; answers to polls come in,
// round after round. The gatherer never polls on its own here (a poll
// interval of an hour): each round is started by the test.
func TestIdleConnections(t *testing.T) {
	t.Parallel()
	for _, mode := range readerModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			start := func(t *testing.T, outs ...Output) *testGatherer {
				cfg := testConfig(t)
				cfg.PollInterval, cfg.PollTimeout = time.Hour, 10*time.Second
				logs := &testbin.Buffer{}
				g, err := Open(cfg, outs, hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Debug}))
				if err != nil {
					t.Fatal(err)
				}
				g.readerPerHost = mode.readerPerHost
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { g.Run(ctx); close(done) }()
				t.Cleanup(func() { cancel(); <-done })
				return &testGatherer{Gatherer: g, logs: logs}
			}
			dial := func(t *testing.T, g *testGatherer, id *identity.Identity) (*tls.Conn, *wire.Conn, *wire.Message) {
				tc, err := tls.Dial("tcp", g.Addr().String(), &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{id.Cert}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tc.Close() })
				c := wire.NewConn(tc, 0)
				if err := c.Send(wire.NewHello(g.secret, "raw", nil)); err != nil {
					t.Fatal(err)
				}
				m, err := c.Recv()
				if err != nil {
					t.Fatal(err)
				}
				return tc, c, m
			}
			newID := func(t *testing.T) *identity.Identity {
				id, err := identity.New()
				if err != nil {
					t.Fatal(err)
				}
				return id
			}

			t.Run("hang-up noticed without a poll", func(t *testing.T) {
				t.Parallel()
				g := start(t)
				id := newID(t)
				for i := range 3 {
					tc, _, m := dial(t, g, id)
					if m.GetWelcome() == nil {
						t.Fatalf("connection %d with the key of a host that hung up: %v, want welcome", i, m)
					}
					waitFor(t, "the host connected", func() bool { return g.hosts.IsConnected(id.ID) })
					if hs := g.Status().Hosts; len(hs) != 1 || hs[0].ID != id.ID {
						t.Fatalf("status page hosts %+v, want %s", hs, id.ID)
					}
					tc.Close()
					waitFor(t, "the hang-up noticed", func() bool { return !g.hosts.IsConnected(id.ID) })
					if hs := g.Status().Hosts; len(hs) != 0 {
						t.Fatalf("status page hosts %+v after the hang-up", hs)
					}
				}
				if n := g.stats.rounds.Load(); n != 0 {
					t.Errorf("%d rounds ran; the hang-ups were to be noticed without a poll", n)
				}
				// Each connection's slot is back.
				waitFor(t, "the slots freed", func() bool { return len(g.connSem) == 0 })
			})

			t.Run("unsolicited bytes refused", func(t *testing.T) {
				t.Parallel()
				g := start(t)
				_, c, m := dial(t, g, newID(t))
				if m.GetWelcome() == nil {
					t.Fatalf("got %v, want welcome", m)
				}
				if _, err := c.NetConn().Write(wire.AppendAnswerFrame(nil, 7, nil)); err != nil {
					t.Fatal(err)
				}
				if m, err := c.Recv(); err == nil {
					t.Errorf("after an unsolicited answer the gatherer sent %v; want the connection closed", m)
				}
				waitFor(t, "the violation counted", func() bool { return g.Status().RefusedByKind[refusal.Unsolicited] == 1 })
				waitFor(t, "the host dropped", func() bool { return len(g.Status().Hosts) == 0 })
				if n := g.stats.rounds.Load(); n != 0 {
					t.Errorf("%d rounds ran", n)
				}
			})

			t.Run("answers round after round", func(t *testing.T) {
				t.Parallel()
				out := newOutput("o")
				g := start(t, out)
				_, a, _ := startHost(t, g.Furl(), "a", nil)
				_, b, _ := startHost(t, g.Furl(), "b", nil)
				waitFor(t, "both hosts", func() bool { return g.hosts.IsConnected(a.ID) && g.hosts.IsConnected(b.ID) })
				for i := range 5 {
					g.round(t.Context())
					r := <-out.got
					if len(r.Nodes) != 3 {
						t.Fatalf("round %d: %d nodes, want 2 hosts and the gatherer", i, len(r.Nodes))
					}
				}
			})
		})
	}
}
