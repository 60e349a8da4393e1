package link

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/wire"
)

// acceptServer is the gatherer's side of the link on a loopback
// listener: each connection's Accept result is sent on results.
type acceptServer struct {
	id      *identity.Identity
	ln      net.Listener
	results chan acceptResult
}

type acceptResult struct {
	peer *Peer
	err  error
}

func newAcceptServer(t *testing.T, ctx context.Context, timeout time.Duration) *acceptServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &acceptServer{id: newIdentity(t), ln: ln, results: make(chan acceptResult, 4)}
	cfg := ServerTLSConfig(s.id)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			go func() {
				p, err := Accept(ctx, nc, cfg, timeout)
				s.results <- acceptResult{p, err}
			}()
		}
	}()
	return s
}

func (s *acceptServer) result(t *testing.T) acceptResult {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return")
	}
	return acceptResult{}
}

// link is a host's link to s, whose dial is the client's side.
func (s *acceptServer) link(t *testing.T, id *identity.Identity, secret string) *Link {
	t.Helper()
	l, err := New(Config{
		Furl:     furl.FURL{Fingerprint: s.id.Fingerprint(), Hints: []string{s.ln.Addr().String()}, Secret: secret},
		Identity: id, Nickname: "web1", Versions: map[string]string{"statsherd": "1.2"},
		Poll: poll, HandshakeTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// acceptError returns err as an *AcceptError, failing t if it is not.
func acceptError(t *testing.T, err error) *AcceptError {
	t.Helper()
	var ae *AcceptError
	if !errors.As(err, &ae) {
		t.Fatalf("Accept: %v, want an *AcceptError", err)
	}
	return ae
}

func TestAcceptWelcomes(t *testing.T) {
	timeout := 300 * time.Millisecond
	s := newAcceptServer(t, t.Context(), timeout)
	id := newIdentity(t)
	l := s.link(t, id, secret)
	type dialed struct {
		sess *session
		err  error
	}
	done := make(chan dialed, 1)
	go func() {
		sess, err := l.dial(t.Context(), s.ln.Addr().String())
		done <- dialed{sess, err}
	}()
	r := s.result(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	p := r.peer
	if p.NodeID != id.ID {
		t.Errorf("node id %q, want the client certificate's %q", p.NodeID, id.ID)
	}
	if p.Hello.Nickname != "web1" || p.Hello.Versions["statsherd"] != "1.2" || p.Hello.Protocol != wire.Protocol {
		t.Errorf("hello %+v", p.Hello)
	}
	if !SecretOK(p.Hello, secret) {
		t.Error("SecretOK false for the furl's secret")
	}
	for _, wrong := range []string{"", secret[:len(secret)-1], secret + "x", strings.ToUpper(secret)} {
		if SecretOK(p.Hello, wrong) {
			t.Errorf("SecretOK true against %q", wrong)
		}
	}
	if pr := p.ProtocolProblem(); pr != "" {
		t.Errorf("ProtocolProblem %q for a hello of this protocol", pr)
	}
	if err := p.Welcome(1500*time.Millisecond, Limits{MaxStats: 123, MaxMessageSize: 4567}); err != nil {
		t.Fatal(err)
	}
	d := <-done
	if d.err != nil {
		t.Fatal(d.err)
	}
	defer d.sess.conn.NetConn().Close()
	if d.sess.pollInterval != 1500*time.Millisecond || d.sess.limits != (Limits{MaxStats: 123, MaxMessageSize: 4567}) || d.sess.flat {
		t.Errorf("session %+v", d.sess)
	}
	if got := l.Status().NodeID; got != id.ID {
		t.Errorf("welcome's node id %q, want %q", got, id.ID)
	}
	// The handshake's deadline is lifted: a poll past it goes through.
	time.Sleep(2 * timeout)
	if err := p.Conn.Send(wire.NewPoll(1, 1000)); err != nil {
		t.Fatalf("poll after the handshake timeout: %v", err)
	}
	m, err := d.sess.conn.Recv()
	if err != nil || m.GetPoll() == nil {
		t.Fatalf("client got %v, %v; want the poll", m, err)
	}
}

func TestAcceptRefuse(t *testing.T) {
	s := newAcceptServer(t, t.Context(), 5*time.Second)
	l := s.link(t, newIdentity(t), "wrong")
	done := make(chan error, 1)
	go func() {
		_, err := l.dial(t.Context(), s.ln.Addr().String())
		done <- err
	}()
	r := s.result(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if SecretOK(r.peer.Hello, secret) {
		t.Error("SecretOK true for a wrong secret")
	}
	r.peer.Refuse("wrong secret: get the current stats_gatherer.furl")
	err := <-done
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "wrong secret") {
		t.Fatalf("dial: %v, want the refusal", err)
	}
	if rf, ok := classify(err); !ok || rf.kind != "wrong_secret" {
		t.Errorf("classified %+v %v", rf, ok)
	}
}

// tlsClient completes TLS to s as a host with id would, then returns.
func tlsClient(t *testing.T, s *acceptServer, id *identity.Identity) *tls.Conn {
	t.Helper()
	tc, err := tls.Dial("tcp", s.ln.Addr().String(), TLSConfig(id, s.id.Fingerprint()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return tc
}

func TestAcceptFailures(t *testing.T) {
	timeout := 200 * time.Millisecond
	t.Run("stalled before tls", func(t *testing.T) {
		s := newAcceptServer(t, t.Context(), timeout)
		nc, err := net.Dial("tcp", s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		ae := acceptError(t, s.result(t).err)
		if ae.Failure != FailedStalled || ae.NodeID != "" || !strings.HasPrefix(ae.Reason, "tls handshake: handshake not done within 200ms") {
			t.Errorf("%+v", ae)
		}
	})
	t.Run("stalled before hello", func(t *testing.T) {
		s := newAcceptServer(t, t.Context(), timeout)
		id := newIdentity(t)
		tlsClient(t, s, id)
		ae := acceptError(t, s.result(t).err)
		if ae.Failure != FailedStalled || ae.NodeID != id.ID || !strings.HasPrefix(ae.Reason, "reading hello: handshake not done within 200ms") {
			t.Errorf("%+v", ae)
		}
	})
	t.Run("not tls", func(t *testing.T) {
		s := newAcceptServer(t, t.Context(), 5*time.Second)
		nc, err := net.Dial("tcp", s.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		ae := acceptError(t, s.result(t).err)
		if ae.Failure != FailedTLS || !strings.HasPrefix(ae.Reason, "tls handshake: ") {
			t.Errorf("%+v", ae)
		}
	})
	t.Run("not a hello", func(t *testing.T) {
		s := newAcceptServer(t, t.Context(), 5*time.Second)
		id := newIdentity(t)
		c := wire.NewConn(tlsClient(t, s, id), wire.MaxHandshakeSize)
		if err := c.Send(wire.NewPoll(1, 1000)); err != nil {
			t.Fatal(err)
		}
		ae := acceptError(t, s.result(t).err)
		if ae.Failure != FailedHello || ae.NodeID != id.ID || ae.Reason != "sent poll instead of hello" {
			t.Errorf("%+v", ae)
		}
		m, err := c.Recv()
		if err != nil || m.GetRefuse().GetReason() != "sent poll instead of hello" {
			t.Errorf("client got %v, %v; want the refusal", m, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		s := newAcceptServer(t, ctx, time.Minute)
		tlsClient(t, s, newIdentity(t))
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		cancel()
		ae := acceptError(t, s.result(t).err)
		if time.Since(start) > 5*time.Second {
			t.Errorf("%+v after %v, want at once", ae, time.Since(start))
		}
	})
}
