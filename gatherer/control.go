package gatherer

import (
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/control"
	"github.com/statsherd/statsherd/internal/furl"
)

// Control carries out one control request on the running gatherer.
func (g *Gatherer) Control(req control.Request) control.Response {
	return control.Live{Nodes: g.nodes, Mark: g.hosts.Mark, Disconnect: g.hosts.Disconnect, RotateSecret: g.rotateSecret, Log: g.log}.Do(req)
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
