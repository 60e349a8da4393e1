package gatherer

import (
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/control"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/furl"
)

// Control carries out one control request on the running gatherer.
func (g *Gatherer) Control(req control.Request) control.Response {
	return control.Live{Nodes: g.nodes, Mark: g.markConnected, Disconnect: g.disconnect, RotateSecret: g.rotateSecret, Log: g.log}.Do(req)
}

// markConnected sets Connected and LastAddress of the connected nodes
// among nodes.
func (g *Gatherer) markConnected(nodes []registry.Node) {
	g.mu.Lock()
	for i := range nodes {
		if h, ok := g.hosts[nodes[i].ID]; ok {
			nodes[i].Connected = true
			nodes[i].LastAddress = h.addr
		}
	}
	g.mu.Unlock()
}

// disconnect forgets node id's host, if it is connected, and refuses it
// with reason.
func (g *Gatherer) disconnect(id, reason string) bool {
	g.mu.Lock()
	h := g.hosts[id]
	if h != nil {
		delete(g.hosts, id)
	}
	g.mu.Unlock()
	if h != nil {
		h.refuse(reason)
	}
	return h != nil
}

// rotateSecret makes a new secret, writes it and the new furl, and uses
// it from now on.
func (g *Gatherer) rotateSecret() (furl.FURL, error) {
	s, err := basedir.NewSecret()
	if err != nil {
		return furl.FURL{}, err
	}
	g.secretMu.Lock()
	defer g.secretMu.Unlock()
	f := g.furl
	f.Secret = s
	if err := basedir.WriteSecretAndFurl(g.cfg.Basedir, s, &f); err != nil {
		return furl.FURL{}, err
	}
	g.secret, g.furl = s, f
	return f, nil
}
