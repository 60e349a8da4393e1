package gatherer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/link"
)

// accept takes connections until the listener is closed. Each is handed
// to its own goroutine. Connections that have not authenticated get their
// own budget (max_handshakes, max_handshakes_per_address), apart from the
// established hosts (max_connections), so they never lock a host out; a
// connection beyond the budget is closed at once and counted.
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
		addr := remoteAddr(nc)
		src := refusal.SourceOf(addr)
		if ok, kind := g.hs.Acquire(src, g.nodes.KnownSource); !ok {
			nc.Close()
			g.refuse(kind, addr, "", "handshake budget full: "+kind)
			continue
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.handle(ctx, nc, src)
		}()
	}
}

// refuse counts a refused peer and logs it (or keeps it for the
// interval's summary).
func (g *Gatherer) refuse(kind, addr, nodeID, reason string) {
	g.refusals.Add(kind, addr, nodeID, reason, 1)
	g.stats.refused.Add(1)
	g.page.Refused(kind, addr, nodeID, reason)
}

// handle does the handshake of one connection and then serves it until it
// closes.
func (g *Gatherer) handle(ctx context.Context, nc net.Conn, src string) {
	addr := remoteAddr(nc)
	h, err := g.handshake(ctx, nc, src)
	if err != nil {
		nc.Close()
		var r *refused
		if errors.As(err, &r) {
			g.hs.Penalize(src, r.kind, g.nodes.KnownSource)
			g.refuse(r.kind, addr, r.nodeID, r.reason)
		} else if ctx.Err() == nil {
			g.refuse(refusal.Other, addr, "", err.Error())
		}
		return
	}
	g.hs.Welcomed(src)
	if !g.register(h) {
		g.releaseNode(h)
		<-g.connSem
		return
	}
	g.wg.Add(1)
	// The idle watcher reads h's messages as they come, with no
	// goroutine between them.
	if err := g.idle.watch(h, func() { g.ended(h) }); err == nil {
		return
	}
	// Else a reader goroutine of its own, started on a fresh stack: the
	// handshake's deep stack is left behind with this goroutine, and the
	// reader's, idle between polls, shrinks to the smallest.
	go g.serve(h)
}

// serve reads h's answers until its connection ends.
func (g *Gatherer) serve(h *host) {
	h.read()
	g.ended(h)
}

// ended is called once h's connection is over and nothing reads it any
// more: the round waiting on it is told, and its slot is freed.
func (g *Gatherer) ended(h *host) {
	h.ended()
	g.unregister(h)
	g.releaseNode(h)
	<-g.connSem
	g.wg.Done()
}

// releaseNode gives back the place among max_nodes that h held while
// not yet enrolled.
func (g *Gatherer) releaseNode(h *host) {
	if h.fresh {
		g.nodes.Release(h.id)
	}
}

// refused is a handshake that ended with a Refuse sent to the peer.
type refused struct{ kind, nodeID, reason string }

func (r *refused) Error() string { return r.reason }

// handshake runs TLS and the hello/welcome exchange under the handshake
// timeout (their mechanics are link.Accept and link.Peer's; the admission
// policy is here), holding a handshake slot of src, and returns the host,
// welcomed and holding a connection slot.
func (g *Gatherer) handshake(ctx context.Context, nc net.Conn, src string) (*host, error) {
	released := false
	release := func() {
		if !released {
			released = true
			g.hs.Release(src)
		}
	}
	defer release()
	p, err := link.Accept(ctx, nc, g.tls, g.cfg.Listen.HandshakeTimeout)
	if err != nil {
		var ae *link.AcceptError
		if !errors.As(err, &ae) {
			return nil, err
		}
		kind := refusal.TLS
		switch ae.Failure {
		case link.FailedStalled:
			kind = refusal.Stalled
		case link.FailedHello:
			kind = refusal.BadHello
		}
		return nil, &refused{kind, ae.NodeID, ae.Reason}
	}
	defer p.Release()
	nodeID, hello := p.NodeID, p.Hello
	refuse := func(kind, reason string) (*host, error) {
		p.Refuse(reason)
		return nil, &refused{kind, nodeID, reason}
	}
	g.secretMu.Lock()
	secret := g.secret
	g.secretMu.Unlock()
	secretOK := link.SecretOK(hello, secret)
	if !secretOK {
		// Checked first for a node not enrolled, so that the protocol
		// check below says nothing to a peer without the secret.
		if !g.nodes.Enrolled(nodeID) {
			return refuse(refusal.Secret, "wrong secret: get the current stats_gatherer.furl from the gatherer's base directory")
		}
	}
	if reason := p.ProtocolProblem(); reason != "" {
		return refuse(refusal.BadHello, reason)
	}
	nick := registry.CleanNickname(hello.Nickname)
	addr := remoteAddr(nc)
	// A key already connected: refused, naming both addresses.
	g.mu.Lock()
	old := g.hosts[nodeID]
	g.mu.Unlock()
	if old != nil && !old.closed.Load() {
		reason := fmt.Sprintf("node %s is already connected from %s; two hosts share one key (copy of node.key?) or the old connection is not yet found dead", nodeID, old.addr)
		return refuse(refusal.Duplicate, reason)
	}
	ad := g.nodes.Admit(nodeID, nick, addr, secretOK, time.Now())
	if !ad.OK {
		return refuse(ad.Kind, ad.Reason)
	}
	welcomed := false
	if ad.Fresh {
		// Its place among max_nodes is held while it is connected.
		defer func() {
			if !welcomed {
				g.nodes.Release(nodeID)
			}
		}()
	}
	select {
	case g.connSem <- struct{}{}:
	default:
		return refuse(refusal.TooMany, fmt.Sprintf("too many connections: the gatherer has %d hosts connected, its limit (max_connections)", cap(g.connSem)))
	}
	// With the quotas, so that the host sheds stats rather than be refused.
	lim := link.Limits{MaxStats: g.quotas.maxStats, MaxMessageSize: g.cfg.Listen.MaxMessageSize}
	if err := p.Welcome(g.cfg.PollInterval, lim); err != nil {
		<-g.connSem
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		return nil, &refused{refusal.Other, nodeID, err.Error()}
	}
	release()
	h := &host{
		id: nodeID, nickname: nick, addr: addr, versions: cleanVersions(hello.Versions),
		since: time.Now(), conn: p.Conn, q: &g.quotas, fresh: ad.Fresh,
	}
	h.log = g.log.With("node", nodeID, "nickname", nick)
	welcomed = true
	return h, nil
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
		out[registry.CleanNickname(k)] = registry.CleanNickname(v[k])
	}
	return out
}

// register adds a welcomed host. A host already connected with the same
// node id (welcomed at the same moment) makes this one refused.
func (g *Gatherer) register(h *host) bool {
	// Before a round can see the host.
	h.track = g.page.Track(h.id)
	g.mu.Lock()
	if g.closing {
		// Welcomed just as the gatherer stops: the reader sees the
		// connection closed and returns.
		g.mu.Unlock()
		h.close()
		return false
	}
	if old := g.hosts[h.id]; old != nil && !old.closed.Load() {
		g.mu.Unlock()
		reason := fmt.Sprintf("node %s is already connected from %s", h.id, old.addr)
		g.refuse(refusal.Duplicate, h.addr, h.id, reason)
		h.refuse(reason)
		return false
	}
	g.hosts[h.id] = h
	g.mu.Unlock()
	h.track.Connected(h.addr, h.versions)
	g.stats.connects.Add(1)
	h.log.Debug("welcomed", "address", h.addr)
	return true
}

// drop closes a host's connection and forgets it at once, so that no
// round polls it again.
func (g *Gatherer) drop(h *host) {
	h.close()
	g.forgetHost(h)
}

// forgetHost removes h from the connected hosts (its connection is
// closing).
func (g *Gatherer) forgetHost(h *host) {
	g.mu.Lock()
	if g.hosts[h.id] == h {
		delete(g.hosts, h.id)
	}
	g.mu.Unlock()
}

// unregister removes a host whose reader stopped, unless it was replaced.
func (g *Gatherer) unregister(h *host) {
	g.mu.Lock()
	if g.hosts[h.id] == h {
		delete(g.hosts, h.id)
	}
	g.mu.Unlock()
	h.track.Disconnected(h.err)
	args := []any{"address", h.addr}
	if h.err != nil && !errors.Is(h.err, net.ErrClosed) {
		args = append(args, "error", h.err)
	}
	if !h.announced.Load() {
		// Never answered: counted and summarised, not a line each.
		reason := "connection closed before its first answer"
		if h.err != nil && !errors.Is(h.err, net.ErrClosed) {
			reason += ": " + h.err.Error()
		}
		g.refusals.Add(refusal.NoAnswer, h.addr, h.id, reason, 1)
		return
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
