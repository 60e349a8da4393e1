package link

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/wire"
)

// The gatherer's side of the hello/welcome exchange, beside the host's
// (dial): Accept runs TLS and reads the hello; the gatherer decides, by
// its own policy, and answers with Peer.Welcome or Peer.Refuse.

// Failure tells apart the ways Accept fails.
type Failure int

const (
	// FailedTLS is a TLS handshake that failed, or a peer with no
	// client certificate.
	FailedTLS Failure = iota
	// FailedStalled is a TLS handshake or hello not done within the
	// handshake timeout.
	FailedStalled
	// FailedHello is a hello that could not be read, or a message other
	// than a hello (refused, with its reason, to the peer).
	FailedHello
)

// AcceptError is why Accept failed: its Failure, the peer's node id once
// its certificate is known, and the reason, which is its Error.
type AcceptError struct {
	Failure Failure
	NodeID  string
	Reason  string
}

func (e *AcceptError) Error() string { return e.Reason }

// Peer is a host past TLS whose hello has been read, not yet welcomed or
// refused. Its connection keeps the handshake's deadline until Welcome.
type Peer struct {
	// TLS is the peer's connection; Conn reads and writes its messages.
	TLS  *tls.Conn
	Conn *wire.Conn
	// NodeID is the id of the peer's certificate key (identity.IDOf).
	NodeID string
	// Hello is what the peer said.
	Hello *wire.Hello

	ctx  context.Context
	stop func() bool
}

// Accept does the gatherer's side of a new connection nc, all within
// timeout (and cut short when ctx is done): the TLS handshake with cfg,
// which must require a client certificate, the node id of that
// certificate, and the peer's hello. A failure is an *AcceptError. The
// peer returned must end with Welcome or Refuse (or Release).
func Accept(ctx context.Context, nc net.Conn, cfg *tls.Config, timeout time.Duration) (*Peer, error) {
	nc.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	ok := false
	defer func() {
		if !ok {
			stop()
		}
	}()
	tc := tls.Server(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		f := FailedTLS
		if errors.Is(err, os.ErrDeadlineExceeded) {
			f = FailedStalled
		}
		return nil, &AcceptError{f, "", "tls handshake: " + timeoutErr(err, timeout).Error()}
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, &AcceptError{FailedTLS, "", "no client certificate"}
	}
	nodeID := identity.IDOf(certs[0])
	c := wire.NewConn(tc, wire.MaxHandshakeSize)
	m, err := c.Recv()
	if err != nil {
		f := FailedHello
		if errors.Is(err, os.ErrDeadlineExceeded) {
			f = FailedStalled
		}
		return nil, &AcceptError{f, nodeID, "reading hello: " + timeoutErr(err, timeout).Error()}
	}
	hello := m.GetHello()
	if hello == nil {
		reason := fmt.Sprintf("sent %s instead of hello", wire.Kind(m))
		c.Send(wire.NewRefuse(reason))
		return nil, &AcceptError{FailedHello, nodeID, reason}
	}
	ok = true
	return &Peer{TLS: tc, Conn: c, NodeID: nodeID, Hello: hello, ctx: ctx, stop: stop}, nil
}

// timeoutErr names a deadline as the handshake timeout.
func timeoutErr(err error, timeout time.Duration) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("handshake not done within %v: %w", timeout, err)
	}
	return err
}

// SecretOK says whether hello carries secret: the whole of it, compared
// in constant time (a prefix, an empty secret or one differing in any
// character is wrong).
func SecretOK(hello *wire.Hello, secret string) bool {
	return len(hello.Secret) == len(secret) && subtle.ConstantTimeCompare([]byte(hello.Secret), []byte(secret)) == 1
}

// ProtocolProblem is why the peer's protocol version is not this
// gatherer's, or "" when it is.
func (p *Peer) ProtocolProblem() string {
	if p.Hello.Protocol == wire.Protocol {
		return ""
	}
	return fmt.Sprintf("protocol version %d, this gatherer speaks %d: upgrade the older side", p.Hello.Protocol, wire.Protocol)
}

// Refuse tells the peer why it is refused (the send's error is not
// returned: the connection is closed after anyway).
func (p *Peer) Refuse(reason string) {
	p.Conn.Send(wire.NewRefuse(reason))
	p.Release()
}

// Release stops watching Accept's ctx; Welcome and Refuse do it. It may
// be called more than once.
func (p *Peer) Release() { p.stop() }

// Welcome welcomes the peer with the gatherer's poll interval, its
// quotas on an answer (lim), and the protocol negotiated from the hello;
// the handshake's deadline is then lifted and the connection reads
// messages up to lim.MaxMessageSize. It returns the send's error, or
// Accept's ctx's error if that ended first.
func (p *Peer) Welcome(pollInterval time.Duration, lim Limits) error {
	m := wire.NewWelcome(p.NodeID, pollInterval.Milliseconds(), wire.Negotiate(p.Hello))
	// The quotas, so that the host sheds stats rather than be refused.
	m.GetWelcome().MaxStats = uint32(lim.MaxStats)
	m.GetWelcome().MaxMessageSize = uint32(lim.MaxMessageSize)
	if err := p.Conn.Send(m); err != nil {
		p.Release()
		return err
	}
	if !p.stop() {
		return p.ctx.Err()
	}
	p.TLS.SetDeadline(time.Time{})
	p.Conn.SetMaxSize(lim.MaxMessageSize)
	return nil
}
