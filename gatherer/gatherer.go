// Package gatherer is the gatherer daemon (Tahoe's StatsGatherer): it
// accepts hosts over mutual TLS, polls every connected host once per
// round, and hands each round to its outputs.
//
// Open prepares the base directory (TLS identity, secret, port), starts
// listening and writes stats_gatherer.furl; Run accepts hosts, runs the
// poll rounds and the status page until its context is done, then closes
// every connection and stops (flushes) the outputs.
//
// This package wires the gatherer's rooms, each a package below it that
// never imports it (internal/layering checks which room may import
// which), and keeps what joins them: the accept loop (server.go), the
// poll loop and what each round feeds (round.go: the gatherer's own stats,
// the status page, the outputs), reload and the control requests.
//
//	basedir    the base directory: identity, secret, port, furl, lock
//	refusal    the kinds of refusal, their tally and log summaries
//	registry   the node list (nodes.json) and the enrolment policy
//	admission  the handshake budget and the admission of a connection
//	poll       the connected hosts, their readers, the poll rounds
//	fanout     each output fed from a queue of its own
//	status     the status pages and what they keep
//	control    the control socket, its client, offline editing
package gatherer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/admission"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/control"
	"github.com/statsherd/statsherd/gatherer/fanout"
	"github.com/statsherd/statsherd/gatherer/poll"
	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/gatherer/status"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
)

// Gatherer is a running gatherer.
type Gatherer struct {
	cfg    *config.Gatherer
	log    hclog.Logger
	id     *identity.Identity
	secret string
	furl   furl.FURL
	ln     net.Listener
	tls    *tls.Config

	// secretMu guards secret and furl, which rotate-secret changes.
	secretMu sync.Mutex

	connSem  chan struct{}
	hs       *admission.Handshakes
	gate     admission.Gate
	refusals *refusal.Tally
	nodes    *registry.Registry
	unlock   func()
	wg       sync.WaitGroup

	control    net.Listener
	controlErr error

	// hosts are the connected hosts, their readers and rounds.
	hosts *poll.Hosts
	// readerPerHost, set by tests before Run, keeps a reader goroutine
	// per host, as on systems without the idle watcher.
	readerPerHost bool

	outputs []*fanout.Fanout
	rounds  roundLog
	// page is the status pages and what they keep.
	page  *status.Pages
	stats counters
	start time.Time
}

// background saves the node list when a state changed (within a second;
// last_seen alone at most once a minute), forgets nodes unseen for
// forget_after, and logs the refusal summaries, until ctx is done.
func (g *Gatherer) background(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var lastForget time.Time
	var saveFailing bool
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			g.refusals.Flush(false)
			if now.Sub(lastForget) >= time.Minute {
				lastForget = now
				for _, n := range g.nodes.Forget(now, g.hosts.IsConnected) {
					g.log.Info("forgetting node", "node", n.ID, "nickname", n.Nickname, "state", n.State, "last_seen", n.LastSeen)
				}
			}
			if err := g.nodes.SaveIf(false); err != nil {
				if !saveFailing {
					g.log.Error("saving the node list (retried every second)", "error", err)
				}
				saveFailing = true
			} else {
				saveFailing = false
			}
		}
	}
}

// counters are the gatherer's own counters, reported as its own node.
type counters struct {
	rounds, pollFailures, refused atomic.Int64
	answers                       atomic.Int64
}

// Open loads the identity of the base directory, which Init (or
// create-gatherer) must have made, and starts listening; outputs are the
// started outputs, which the gatherer stops when Run ends (Open's caller
// stops them if Open fails).
func Open(cfg *config.Gatherer, outputs []Output, log hclog.Logger) (*Gatherer, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if err := basedir.Check(cfg.Basedir); err != nil {
		return nil, err
	}
	id, err := identity.LoadOrCreate(cfg.Basedir, basedir.IdentityName)
	if err != nil {
		return nil, fmt.Errorf("loading the gatherer's TLS identity: %w", err)
	}
	secret, err := basedir.LoadOrCreateSecret(cfg.Basedir)
	if err != nil {
		return nil, err
	}
	unlock, err := basedir.Lock(cfg.Basedir)
	if err != nil {
		return nil, err
	}
	nodes, err := registry.Load(cfg)
	if err != nil {
		unlock()
		return nil, err
	}
	ln, err := basedir.Listen(cfg.Basedir, cfg.Listen.Address, cfg.Listen.Port)
	if err != nil {
		unlock()
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	f := furl.FURL{Fingerprint: id.Fingerprint(), Hints: basedir.LocationHints(cfg.Listen.Location, port), Secret: secret}
	if _, err := furl.Parse(f.String()); err != nil {
		ln.Close()
		unlock()
		return nil, fmt.Errorf("making the furl: %w", err)
	}
	if err := basedir.WriteFile(filepath.Join(cfg.Basedir, basedir.FurlFile), []byte(f.String()+"\n"), 0o600); err != nil {
		ln.Close()
		unlock()
		return nil, err
	}
	g := &Gatherer{
		cfg: cfg, log: log, id: id, secret: secret, furl: f, ln: ln, tls: link.ServerTLSConfig(id),
		connSem:  make(chan struct{}, cfg.Listen.MaxConnections),
		hs:       admission.NewHandshakes(max(cfg.Limits.MaxHandshakes, 1), max(cfg.Limits.MaxHandshakesPerAddress, 1)),
		refusals: refusal.NewTally(log, cfg.PollInterval),
		nodes:    nodes,
		unlock:   unlock,
		start:    time.Now(),
	}
	maxStats := cfg.Limits.MaxStatsPerNode
	if maxStats <= 0 {
		maxStats = config.DefaultMaxStatsPerNode
	}
	g.hosts = poll.New(poll.Config{Log: log, Timeout: cfg.PollTimeout, MaxStats: maxStats, Nodes: nodes, Refusals: g.refusals, Refuse: g.refuse})
	g.page = status.New(cfg, nodes, g.refusals, status.Source{Status: g.status, Conns: g.hosts.Conns, Connected: g.hosts.IsConnected}, log)
	g.control, g.controlErr = control.Listen(cfg.Basedir)
	// With the quotas, so that the host sheds stats rather than be refused.
	g.gate = admission.Gate{Budget: g.hs, TLS: g.tls, Timeout: cfg.Listen.HandshakeTimeout, Secret: g.currentSecret,
		Nodes: nodes, Connected: g.hosts.LiveAddr, Slots: g.connSem, PollInterval: cfg.PollInterval,
		Limits: link.Limits{MaxStats: maxStats, MaxMessageSize: cfg.Listen.MaxMessageSize}}
	for i, o := range outputs {
		timeout := cfg.OutputTimeout
		if t, ok := o.(interface{ WriteTimeout() time.Duration }); ok && t.WriteTimeout() > 0 {
			timeout = t.WriteTimeout()
		}
		g.outputs = append(g.outputs, fanout.New(o, timeout, cfg.OutputQueue, log, func(seq uint64) { g.rounds.written(i, seq) }))
	}
	g.rounds.outputs = len(outputs)
	return g, nil
}

// Furl is the gatherer's furl.
func (g *Gatherer) Furl() furl.FURL {
	g.secretMu.Lock()
	defer g.secretMu.Unlock()
	return g.furl
}

// Addr is the address the gatherer listens on.
func (g *Gatherer) Addr() net.Addr { return g.ln.Addr() }

// ID is the gatherer's own node id.
func (g *Gatherer) ID() string { return g.id.ID }

// Run serves until ctx is done, then shuts down: no new hosts, every
// connection closed, queued rounds written, outputs stopped.
func (g *Gatherer) Run(ctx context.Context) error {
	flushCtx := context.WithoutCancel(ctx)
	var outWG sync.WaitGroup
	for _, f := range g.outputs {
		outWG.Add(1)
		go func() { defer outWG.Done(); f.Run(flushCtx) }()
	}
	statusSrv, err := g.serveStatus(ctx)
	if err != nil {
		g.log.Error("status page not started; a second gatherer on this machine needs its own status { listen } in gatherer.hcl (or \"\" for none)", "error", err)
	}
	ctlLn := g.control
	if ctlLn != nil {
		control.Serve(ctx, ctlLn, g.Control)
	} else {
		g.log.Error("control socket not started", "error", g.controlErr)
	}
	bgDone := make(chan struct{})
	bgCtx, bgStop := context.WithCancel(ctx)
	go func() { defer close(bgDone); g.background(bgCtx) }()
	g.log.Info("gatherer listening", "address", g.ln.Addr().String(), "furl", g.Furl().Redacted(),
		"node", g.id.ID, "poll_interval", g.cfg.PollInterval, "outputs", len(g.outputs),
		"enrolment", g.nodes.Policy())

	if !g.readerPerHost {
		if err = g.hosts.WatchIdle(); err != nil {
			g.log.Warn("no idle connection watcher: each host connection keeps a goroutine", "error", err)
		}
	}
	acceptDone := make(chan struct{})
	go func() { defer close(acceptDone); g.accept(ctx) }()

	g.pollLoop(ctx)

	// Shut down.
	g.ln.Close()
	<-acceptDone
	g.hosts.Close()
	g.wg.Wait()
	g.hosts.StopWatching()
	if statusSrv != nil {
		statusSrv.Close()
	}
	if ctlLn != nil {
		ctlLn.Close()
		os.Remove(filepath.Join(g.cfg.Basedir, basedir.ControlSocket))
	}
	bgStop()
	<-bgDone
	g.refusals.Flush(true)
	if err := g.nodes.Save(); err != nil {
		g.log.Error("saving the node list", "error", err)
	}
	defer g.unlock()
	for _, f := range g.outputs {
		f.Close()
	}
	outWG.Wait()
	stopCtx, cancel := context.WithTimeout(flushCtx, g.cfg.OutputTimeout+5*time.Second)
	defer cancel()
	var stopWG sync.WaitGroup
	for _, f := range g.outputs {
		stopWG.Add(1)
		go func() { defer stopWG.Done(); f.Output().Stop(stopCtx) }()
	}
	stopWG.Wait()
	os.Remove(filepath.Join(g.cfg.Basedir, basedir.StatusURLFile))
	g.log.Info("gatherer stopped")
	return nil
}

// Output is where rounds go (fanout.Output): Open takes the started
// outputs.
type Output = fanout.Output
