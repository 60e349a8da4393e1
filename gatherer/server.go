package gatherer

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/wire"
)

// serverTLS is the gatherer's TLS configuration: its own certificate, and
// a client certificate required from every host (any certificate: the node
// id is derived from it, and TLS has the host prove it holds the key).
func serverTLS(id *identity.Identity) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.RequireAnyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// accept takes connections until the listener is closed. Each is handed
// to its own goroutine; at most MaxConnections are open at once, and a
// connection beyond that is closed at once and counted.
func (g *Gatherer) accept(ctx context.Context) {
	var delay time.Duration
	for {
		nc, err := g.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			g.log.Error("accepting connection", "error", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			continue
		}
		delay = 0
		select {
		case g.connSem <- struct{}{}:
		default:
			g.refuse(remoteAddr(nc), "", "too many connections")
			nc.Close()
			continue
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			defer func() { <-g.connSem }()
			g.handle(ctx, nc)
		}()
	}
}

// refuse logs and counts a refused peer (logged first, so a refusal that
// is counted has been said).
func (g *Gatherer) refuse(addr, nodeID, reason string) {
	args := []any{"address", addr, "reason", reason}
	if nodeID != "" {
		args = append(args, "node", nodeID)
	}
	g.log.Warn("refused peer", args...)
	g.stats.refused.Add(1)
}

// handle does the handshake of one connection and then serves it until it
// closes.
func (g *Gatherer) handle(ctx context.Context, nc net.Conn) {
	addr := remoteAddr(nc)
	h, err := g.handshake(ctx, nc)
	if err != nil {
		nc.Close()
		var r *refusal
		if errors.As(err, &r) {
			g.refuse(addr, r.nodeID, r.reason)
		} else if ctx.Err() == nil {
			g.refuse(addr, "", err.Error())
		}
		return
	}
	g.register(h)
	h.read()
	g.unregister(h)
}

// refusal is a handshake that ended with a Refuse sent to the peer.
type refusal struct{ nodeID, reason string }

func (r *refusal) Error() string { return r.reason }

// handshake runs TLS and the hello/welcome exchange under the handshake
// timeout, and returns the host, welcomed.
func (g *Gatherer) handshake(ctx context.Context, nc net.Conn) (*host, error) {
	timeout := g.cfg.Listen.HandshakeTimeout
	nc.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	tc := tls.Server(nc, g.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", timeoutErr(err, timeout))
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, errors.New("no client certificate")
	}
	nodeID := identity.IDOf(certs[0])
	c := wire.NewConn(tc, wire.MaxHandshakeSize)
	m, err := c.Recv()
	if err != nil {
		return nil, &refusal{nodeID, "reading hello: " + timeoutErr(err, timeout).Error()}
	}
	hello := m.GetHello()
	refuse := func(reason string) (*host, error) {
		c.Send(wire.NewRefuse(reason))
		return nil, &refusal{nodeID, reason}
	}
	switch {
	case hello == nil:
		return refuse(fmt.Sprintf("sent %s instead of hello", wire.Kind(m)))
	case subtle.ConstantTimeCompare([]byte(hello.Secret), []byte(g.secret)) != 1:
		return refuse("wrong secret: get the current stats_gatherer.furl from the gatherer's base directory")
	case hello.Protocol != wire.Protocol:
		return refuse(fmt.Sprintf("protocol version %d, this gatherer speaks %d: upgrade the older side", hello.Protocol, wire.Protocol))
	}
	nick := cleanNickname(hello.Nickname)
	if err := c.Send(wire.NewWelcome(nodeID, g.cfg.PollInterval.Milliseconds())); err != nil {
		return nil, &refusal{nodeID, "sending welcome: " + err.Error()}
	}
	if !stop() {
		return nil, ctx.Err()
	}
	tc.SetDeadline(time.Time{})
	c.SetMaxSize(g.cfg.Listen.MaxMessageSize)
	h := &host{
		id: nodeID, nickname: nick, addr: remoteAddr(nc), versions: cleanVersions(hello.Versions),
		since: time.Now(), conn: c,
		answers: make(chan reply, 1), done: make(chan struct{}),
	}
	h.log = g.log.With("node", nodeID, "nickname", nick)
	return h, nil
}

// timeoutErr names a deadline as the handshake timeout.
func timeoutErr(err error, timeout time.Duration) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("handshake not done within %v: %w", timeout, err)
	}
	return err
}

// cleanNickname bounds a peer-given nickname and strips control characters.
func cleanNickname(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	if s == "" {
		s = "unnamed"
	}
	return s
}

func cleanVersions(v map[string]string) map[string]string {
	if len(v) == 0 {
		return nil
	}
	out := make(map[string]string, min(len(v), 16))
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys[:min(len(keys), 16)] {
		out[cleanNickname(k)] = cleanNickname(v[k])
	}
	return out
}

// register adds a welcomed host; a host already connected with the same
// node id is replaced, as a reconnecting node's old connection is dead.
func (g *Gatherer) register(h *host) {
	g.mu.Lock()
	if g.closing {
		// Welcomed just as the gatherer stops: the reader sees the
		// connection closed and returns.
		g.mu.Unlock()
		h.close()
		return
	}
	old := g.hosts[h.id]
	g.hosts[h.id] = h
	g.mu.Unlock()
	g.stats.connects.Add(1)
	if old != nil {
		h.log.Info("replacing connection", "old_address", old.addr, "address", h.addr)
		old.close()
	}
	h.log.Info("connect", "address", h.addr)
}

// unregister removes a host whose reader stopped, unless it was replaced.
func (g *Gatherer) unregister(h *host) {
	g.mu.Lock()
	if g.hosts[h.id] == h {
		delete(g.hosts, h.id)
	}
	g.mu.Unlock()
	args := []any{"address", h.addr}
	if h.err != nil && !errors.Is(h.err, net.ErrClosed) {
		args = append(args, "error", h.err)
	}
	h.log.Info("disconnect", args...)
}

// connected returns the connected hosts, in no particular order.
func (g *Gatherer) connected() []*host {
	g.mu.Lock()
	hs := make([]*host, 0, len(g.hosts))
	for _, h := range g.hosts {
		hs = append(hs, h)
	}
	g.mu.Unlock()
	return hs
}

// connectedSorted returns the connected hosts, sorted by nickname and id.
func (g *Gatherer) connectedSorted() []*host {
	hs := g.connected()
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].nickname != hs[j].nickname {
			return hs[i].nickname < hs[j].nickname
		}
		return hs[i].id < hs[j].id
	})
	return hs
}
