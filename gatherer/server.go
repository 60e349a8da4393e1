package gatherer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/statsherd/statsherd/gatherer/admission"
	"github.com/statsherd/statsherd/gatherer/refusal"
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
	h, err := g.handshake(ctx, nc, addr, src)
	if err != nil {
		nc.Close()
		var r *admission.Refused
		if errors.As(err, &r) {
			g.hs.Penalize(src, r.Kind, g.nodes.KnownSource)
			g.refuse(r.Kind, addr, r.NodeID, r.Reason)
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

// handshake runs the handshake of one connection (admission.Gate) and
// returns the host, welcomed and holding a connection slot.
func (g *Gatherer) handshake(ctx context.Context, nc net.Conn, addr, src string) (*host, error) {
	w, err := g.gate.Handshake(ctx, nc, addr, src)
	if err != nil {
		return nil, err
	}
	h := &host{
		id: w.NodeID, nickname: w.Nickname, addr: w.Addr, versions: w.Versions,
		since: time.Now(), conn: w.Conn, q: &g.quotas, fresh: w.Fresh,
	}
	h.log = g.log.With("node", w.NodeID, "nickname", w.Nickname)
	return h, nil
}

// liveAddr returns the address of node id's connection, unless there is
// none or it is closing.
func (g *Gatherer) liveAddr(id string) (string, bool) {
	g.mu.Lock()
	old := g.hosts[id]
	g.mu.Unlock()
	if old != nil && !old.closed.Load() {
		return old.addr, true
	}
	return "", false
}

// currentSecret is the furl's secret now.
func (g *Gatherer) currentSecret() string {
	g.secretMu.Lock()
	defer g.secretMu.Unlock()
	return g.secret
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
