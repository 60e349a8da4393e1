package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/internal/wire"
)

// Gate admits a connection that holds a handshake slot: TLS and the
// hello/welcome exchange under the handshake timeout (their mechanics are
// link.Accept and link.Peer's; the admission policy is here).
type Gate struct {
	// Budget is the handshake budget the connection's slot is of.
	Budget  *Handshakes
	TLS     *tls.Config
	Timeout time.Duration
	// Secret is the furl's secret now.
	Secret func() string
	Nodes  *registry.Registry
	// Connected returns the address of node id's live connection, if it
	// has one.
	Connected func(id string) (addr string, ok bool)
	// Slots are the established connections (max_connections): a
	// welcomed host holds one.
	Slots chan struct{}
	// Limits and PollInterval are told to the host in the welcome.
	Limits       link.Limits
	PollInterval time.Duration
}

// Welcomed is a host that passed its handshake.
type Welcomed struct {
	NodeID, Nickname, Addr string
	Versions               map[string]string
	Conn                   *wire.Conn
	// Fresh: a new node admitted under open, holding a place among
	// max_nodes until it is enrolled or its connection ends
	// (registry.Registry.Release).
	Fresh bool
}

// Refused is a handshake that ended with a Refuse sent to the peer.
type Refused struct{ Kind, NodeID, Reason string }

func (r *Refused) Error() string { return r.Reason }

// Handshake runs the handshake of nc, from addr, which holds a slot of
// src in the budget (given back here), and returns the host, welcomed and
// holding one of Slots; a refusal is a *Refused.
func (g *Gate) Handshake(ctx context.Context, nc net.Conn, addr, src string) (Welcomed, error) {
	released := false
	release := func() {
		if !released {
			released = true
			g.Budget.Release(src)
		}
	}
	defer release()
	p, err := link.Accept(ctx, nc, g.TLS, g.Timeout)
	if err != nil {
		var ae *link.AcceptError
		if !errors.As(err, &ae) {
			return Welcomed{}, err
		}
		kind := refusal.TLS
		switch ae.Failure {
		case link.FailedStalled:
			kind = refusal.Stalled
		case link.FailedHello:
			kind = refusal.BadHello
		}
		return Welcomed{}, &Refused{kind, ae.NodeID, ae.Reason}
	}
	defer p.Release()
	nodeID, hello := p.NodeID, p.Hello
	refuse := func(kind, reason string) (Welcomed, error) {
		p.Refuse(reason)
		return Welcomed{}, &Refused{kind, nodeID, reason}
	}
	secretOK := link.SecretOK(hello, g.Secret())
	if !secretOK {
		// Checked first for a node not enrolled, so that the protocol
		// check below says nothing to a peer without the secret.
		if !g.Nodes.Enrolled(nodeID) {
			return refuse(refusal.Secret, "wrong secret: get the current stats_gatherer.furl from the gatherer's base directory")
		}
	}
	if reason := p.ProtocolProblem(); reason != "" {
		return refuse(refusal.BadHello, reason)
	}
	nick := registry.CleanNickname(hello.Nickname)
	// A key already connected: refused, naming both addresses.
	if oldAddr, ok := g.Connected(nodeID); ok {
		reason := fmt.Sprintf("node %s is already connected from %s; two hosts share one key (copy of node.key?) or the old connection is not yet found dead", nodeID, oldAddr)
		return refuse(refusal.Duplicate, reason)
	}
	ad := g.Nodes.Admit(nodeID, nick, addr, secretOK, time.Now())
	if !ad.OK {
		return refuse(ad.Kind, ad.Reason)
	}
	welcomed := false
	if ad.Fresh {
		// Its place among max_nodes is held while it is connected.
		defer func() {
			if !welcomed {
				g.Nodes.Release(nodeID)
			}
		}()
	}
	select {
	case g.Slots <- struct{}{}:
	default:
		return refuse(refusal.TooMany, fmt.Sprintf("too many connections: the gatherer has %d hosts connected, its limit (max_connections)", cap(g.Slots)))
	}
	// With the quotas, so that the host sheds stats rather than be refused.
	if err := p.Welcome(g.PollInterval, g.Limits); err != nil {
		<-g.Slots
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return Welcomed{}, err
		}
		return Welcomed{}, &Refused{refusal.Other, nodeID, err.Error()}
	}
	release()
	welcomed = true
	return Welcomed{NodeID: nodeID, Nickname: nick, Addr: addr, Versions: cleanVersions(hello.Versions), Conn: p.Conn, Fresh: ad.Fresh}, nil
}

// cleanVersions bounds the versions a peer reports: at most 16, each
// name and value cleaned as a nickname.
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
