package gatherer

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/statsherd/statsherd/gatherer/admission"
	"github.com/statsherd/statsherd/gatherer/poll"
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
	if !g.hosts.Add(h, g.page.Track(h.ID())) {
		<-g.connSem
		return
	}
	g.wg.Add(1)
	g.hosts.Read(h, func() {
		<-g.connSem
		g.wg.Done()
	})
}

// handshake runs the handshake of one connection (admission.Gate) and
// returns the host, welcomed and holding a connection slot.
func (g *Gatherer) handshake(ctx context.Context, nc net.Conn, addr, src string) (*poll.Host, error) {
	w, err := g.gate.Handshake(ctx, nc, addr, src)
	if err != nil {
		return nil, err
	}
	return g.hosts.NewHost(w), nil
}

// currentSecret is the furl's secret now.
func (g *Gatherer) currentSecret() string {
	g.secretMu.Lock()
	defer g.secretMu.Unlock()
	return g.secret
}

func remoteAddr(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return "?"
}
