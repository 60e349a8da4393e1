package gatherer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/fanout"
	"github.com/statsherd/statsherd/gatherer/status"
	"github.com/statsherd/statsherd/internal/statuspage"
)

// The status page's documents, as its JSON twins serve them.
type (
	Status      = status.Status
	RoundStatus = status.RoundStatus
	FleetPage   = status.FleetPage
	NodePage    = status.NodePage
)

// Status returns the gatherer's status.
func (g *Gatherer) Status() Status { return g.status(true) }

// status returns the gatherer's status, with or without the host list
// (which is long with thousands of hosts).
func (g *Gatherer) status(withHosts bool) Status {
	s := status.Status{
		Nickname: g.cfg.Nickname, ID: g.id.ID, Furl: g.Furl().Redacted(), Listen: g.ln.Addr().String(),
		PollInterval: g.cfg.PollInterval.Seconds(), Uptime: time.Since(g.start).Seconds(),
		Rounds: g.stats.rounds.Load(), PollFailures: g.stats.pollFailures.Load(), Refused: g.stats.refused.Load(),
		LastRound: g.rounds.status(), Hosts: []status.HostStatus{}, Outputs: []fanout.Status{},
		RefusedByKind: g.refusals.Counts(), Enrolment: g.nodes.Policy(), Handshakes: g.hs.InProgress(),
	}
	s.NodesEnrolled, s.NodesPending, s.NodesRevoked = g.nodes.Counts()
	if withHosts {
		hosts := g.hosts.Sorted()
		s.HostsConnected = len(hosts)
		for _, h := range hosts {
			s.Hosts = append(s.Hosts, h.Status())
		}
	} else {
		s.HostsConnected = g.hosts.Len()
	}
	for _, f := range g.outputs {
		s.Outputs = append(s.Outputs, f.Status())
	}
	return s
}

// serveStatus starts the loopback status page, if configured, and writes
// its URL to basedir/status.url.
func (g *Gatherer) serveStatus(ctx context.Context) (*http.Server, error) {
	if g.cfg.StatusListen == "" {
		return nil, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", g.cfg.StatusListen)
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	url := "http://" + ln.Addr().String() + "/"
	if err := basedir.WriteFile(filepath.Join(g.cfg.Basedir, basedir.StatusURLFile), []byte(url+"\n"), 0o644); err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{Handler: statuspage.Handler(g, g.cfg.StatusPprof), ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("status page stopped", "error", err)
		}
	}()
	g.log.Info("status page", "url", url)
	return srv, nil
}

// ServeHTTP serves the status page's views.
func (g *Gatherer) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.page.ServeHTTP(w, r) }

// outputStatuses are the outputs' status.
func (g *Gatherer) outputStatuses() []fanout.Status {
	out := make([]fanout.Status, 0, len(g.outputs))
	for _, f := range g.outputs {
		out = append(out, f.Status())
	}
	return out
}
