package gatherer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"path/filepath"
	"time"

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
	HostsConnected int            `json:"hosts_connected"`
	Hosts          []HostStatus   `json:"hosts"`
	Outputs        []OutputStatus `json:"outputs"`
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
		LastRound: g.rounds.status(), Hosts: []HostStatus{}, Outputs: []OutputStatus{},
		RefusedByKind: g.refusals.counts(), Enrolment: g.nodes.policy, Handshakes: g.hs.inProgress(),
	}
	s.NodesEnrolled, s.NodesPending, s.NodesRevoked = g.nodes.counts()
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
		s.Outputs = append(s.Outputs, f.status())
	}
	return s
}

var statusPage = template.Must(template.New("status").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>statsherd gatherer {{.Nickname}}</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>
</head><body>
<h1>statsherd gatherer {{.Nickname}}</h1>
<p>node id {{.ID}}<br>furl {{.Furl}}<br>listening on {{.Listen}}, polling every {{.PollInterval}} s<br>
rounds {{.Rounds}}, poll failures {{.PollFailures}}, refused peers {{.Refused}}<br>
enrolment {{.Enrolment}}: {{.NodesEnrolled}} nodes enrolled, {{.NodesPending}} pending, {{.NodesRevoked}} revoked; {{.Handshakes}} handshakes in progress<br>
last round #{{.LastRound.Seq}}: {{.LastRound.Answers}} answers, {{.LastRound.Failures}} failures, polled in {{printf "%.3f" .LastRound.PollSeconds}} s;
round #{{.LastRound.WrittenSeq}} written by every output {{printf "%.3f" .LastRound.TotalSeconds}} s after it started</p>
<h2>Hosts ({{.HostsConnected}} connected)</h2>
<table><tr><th>nickname</th><th>node id</th><th>address</th><th>connected since</th><th>last answer</th><th>last error</th></tr>
{{range .Hosts}}<tr><td>{{.Nickname}}</td><td>{{.ID}}</td><td>{{.Address}}</td><td>{{.Since.Format "2006-01-02 15:04:05"}}</td><td>{{if not .LastAnswer.IsZero}}{{.LastAnswer.Format "2006-01-02 15:04:05"}}{{end}}</td><td>{{.LastError}}</td></tr>
{{end}}</table>
<h2>Outputs</h2>
<table><tr><th>name</th><th>up</th><th>restarts</th><th>writes</th><th>failures</th><th>queued</th><th>coalesced</th><th>last write (s)</th><th>last error</th><th>own stats</th></tr>
{{range .Outputs}}<tr><td>{{.Name}}</td><td>{{.Up}}</td><td>{{.Restarts}}</td><td>{{.Writes}}</td><td>{{.Failures}}</td><td>{{.Queued}}</td><td>{{.Coalesced}}</td><td>{{printf "%.3f" .WriteSecs}}</td><td>{{.LastError}}</td><td>{{range $k, $v := .Stats}}{{$k}} {{$v}}<br>{{end}}</td></tr>
{{end}}</table>
<p><a href="?t=json">JSON</a></p>
</body></html>
`))

// ServeHTTP serves the status page: HTML, or JSON with ?t=json; with
// hosts=0 the host list is left out.
func (g *Gatherer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	s := g.status(r.URL.Query().Get("hosts") != "0")
	if r.URL.Query().Get("t") == "json" {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(s)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, s); err != nil {
		g.log.Warn("writing status page", "error", err)
	}
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
	if err := writeFileAtomic(filepath.Join(g.cfg.Basedir, StatusURLFile), []byte(url+"\n"), 0o644); err != nil {
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
