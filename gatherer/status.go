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
	"github.com/statsherd/statsherd/internal/statuspage"
)

// Status is what the status page shows.
type Status struct {
	Nickname     string      `json:"nickname"`
	ID           string      `json:"id"`
	Furl         string      `json:"furl"`
	Listen       string      `json:"listen"`
	PollInterval float64     `json:"poll_interval_seconds"`
	Uptime       float64     `json:"uptime_seconds"`
	Rounds       int64       `json:"rounds"`
	PollFailures int64       `json:"poll_failures"`
	Refused      int64       `json:"refused_peers"`
	LastRound    RoundStatus `json:"last_round"`
	// RefusedByKind counts refusals (and dropped stats) by kind.
	RefusedByKind map[string]int64 `json:"refused_by_kind"`
	// Enrolment is the policy; NodesEnrolled etc. count the known nodes.
	Enrolment     string `json:"enrolment"`
	NodesEnrolled int    `json:"nodes_enrolled"`
	NodesPending  int    `json:"nodes_pending"`
	NodesRevoked  int    `json:"nodes_revoked"`
	// Handshakes counts connections not yet authenticated.
	Handshakes int `json:"handshakes_in_progress"`
	// HostsConnected counts Hosts, also when the list is left out.
	HostsConnected int             `json:"hosts_connected"`
	Hosts          []HostStatus    `json:"hosts"`
	Outputs        []fanout.Status `json:"outputs"`
	// Fleet is the fleet view's page (status_page.go): every known node,
	// sorted, filtered and paged as the URL asks, and the counts of each
	// state.
	Fleet *FleetPage `json:"fleet,omitempty"`
}

// Status returns the gatherer's status.
func (g *Gatherer) Status() Status { return g.status(true) }

// status returns the gatherer's status, with or without the host list
// (which is long with thousands of hosts).
func (g *Gatherer) status(withHosts bool) Status {
	s := Status{
		Nickname: g.cfg.Nickname, ID: g.id.ID, Furl: g.Furl().Redacted(), Listen: g.ln.Addr().String(),
		PollInterval: g.cfg.PollInterval.Seconds(), Uptime: time.Since(g.start).Seconds(),
		Rounds: g.stats.rounds.Load(), PollFailures: g.stats.pollFailures.Load(), Refused: g.stats.refused.Load(),
		LastRound: g.rounds.status(), Hosts: []HostStatus{}, Outputs: []fanout.Status{},
		RefusedByKind: g.refusals.Counts(), Enrolment: g.nodes.Policy(), Handshakes: g.hs.InProgress(),
	}
	s.NodesEnrolled, s.NodesPending, s.NodesRevoked = g.nodes.Counts()
	var hosts []*host
	if withHosts {
		hosts = g.connectedSorted()
	} else {
		hosts = g.connected()
	}
	s.HostsConnected = len(hosts)
	for _, h := range hosts {
		if !withHosts {
			break
		}
		s.Hosts = append(s.Hosts, h.status())
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
