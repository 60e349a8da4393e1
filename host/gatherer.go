package host

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/sdk"
)

// gathererLink is the running connections to the host's gatherers, one
// per gatherer block. Each link dials, reconnects and answers polls on its
// own goroutine, so a gatherer that is away or slow never delays another;
// polls that arrive together share the producers' answers (collector).
type gathererLink struct {
	links  []*link.Link
	cancel context.CancelFunc
	done   chan struct{}
}

func (l gathererLink) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// startGatherer dials the gatherers cfg names, if any, and keeps the
// connections until the host stops or the gatherer settings change. The
// caller holds h.mu.
func (h *Host) startGatherer(cfg *config.Host) error {
	if len(cfg.Gatherers) == 0 {
		h.log.Info("no gatherer configured: stats are served locally only")
		return nil
	}
	if h.opts.Identity == nil {
		return fmt.Errorf("connecting to the gatherer: the host has no node identity")
	}
	links := make([]*link.Link, 0, len(cfg.Gatherers))
	for i, g := range cfg.Gatherers {
		log := h.log
		if len(cfg.Gatherers) > 1 {
			log = h.log.With("gatherer", g.FURL.Redacted())
		}
		// Each gatherer has a statsd window of its own, so that two
		// gatherers (HA) both get the summaries of every sample; the
		// first reads the default window, the others one named after
		// their certificate, which stays the same across reloads.
		poll := h.Poll
		poller := ""
		if i > 0 {
			poller = "gatherer-" + g.FURL.Fingerprint
			poll = func(ctx context.Context) sdk.Stats { return h.PollAs(ctx, poller) }
		}
		l, err := link.New(link.Config{
			Furl:       g.FURL,
			Identity:   h.opts.Identity,
			Nickname:   cfg.Nickname,
			Versions:   map[string]string{"statsherd": version.String()},
			Poll:       poll,
			PollWithin: func(ctx context.Context, lim link.Limits) sdk.Stats { return h.PollWithin(ctx, poller, lim) },
			Log:        log,
			MinBackoff: g.MinBackoff,
			MaxBackoff: g.MaxBackoff,
		})
		if err != nil {
			return fmt.Errorf("connecting to the gatherer %s: %w", g.FURL.Redacted(), err)
		}
		links = append(links, l)
	}
	ctx, cancel := context.WithCancel(h.base)
	done := make(chan struct{})
	running := make(chan struct{}, len(links))
	for _, l := range links {
		go func() {
			defer func() { running <- struct{}{} }()
			l.Run(ctx)
		}()
	}
	go func() {
		for range links {
			<-running
		}
		close(done)
	}()
	h.gatherer = gathererLink{links: links, cancel: cancel, done: done}
	for _, g := range cfg.Gatherers {
		h.log.Info("connecting to the gatherer", "furl", g.FURL.Redacted())
	}
	return nil
}

// restartGatherer restarts the gatherer connections with the current
// configuration.
func (h *Host) restartGatherer() {
	h.mu.Lock()
	old := h.gatherer
	h.gatherer = gathererLink{}
	h.mu.Unlock()
	old.stop()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || !h.started {
		return
	}
	if err := h.startGatherer(h.cfg); err != nil {
		h.log.Error("restarting the gatherer connection", "error", err)
	}
}

// sameGatherers reports whether a and b name the same gatherers the same
// way, in the same order.
func sameGatherers(a, b []config.GathererLink) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].FURL.String() != b[i].FURL.String() || a[i].MinBackoff != b[i].MinBackoff || a[i].MaxBackoff != b[i].MaxBackoff {
			return false
		}
	}
	return true
}

// checkGatherer checks what config.LoadHost cannot: that this host can
// connect to a gatherer at all.
func (h *Host) checkGatherer(cfg *config.Host) hcl.Diagnostics {
	if len(cfg.Gatherers) > 0 && h.opts.Identity == nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No node identity",
			Detail: "The host cannot connect to a gatherer without its node key."}}
	}
	return nil
}

// gathererStatus says, for people, how the gatherer connections are: one
// line per gatherer.
func (h *Host) gathererStatus() string {
	h.mu.Lock()
	links := h.gatherer.links
	h.mu.Unlock()
	if len(links) == 0 {
		return "none configured; stats are served locally only"
	}
	lines := make([]string, len(links))
	for i, l := range links {
		lines[i] = linkStatus(l.Status())
	}
	if len(lines) == 1 {
		return lines[0]
	}
	return "\n  " + strings.Join(lines, "\n  ")
}

func linkStatus(s link.Status) string {
	if s.Connected {
		return fmt.Sprintf("connected to %s since %s, %d polls answered", s.Gatherer, s.ConnectedSince.UTC().Format(time.RFC3339), s.Polls)
	}
	msg := fmt.Sprintf("not connected (%s)", s.Furl)
	if s.LastError != "" {
		msg += "; last error: " + s.LastError
	}
	if !s.NextAttempt.IsZero() {
		msg += "; next attempt at " + s.NextAttempt.UTC().Format(time.RFC3339)
	}
	return msg
}

// gathererStats adds the state of the gatherer connections to st:
// statsherd.link.configured and .connected count the gatherers named and
// connected (0 or 1 with one gatherer), .connects and .polls add up all
// links; with several gatherers, statsherd.link.N.* (N from 0, in file
// order) are each link's. The names are the same whether or not the links
// run (--once), so every answer of a host has the same shape.
func (h *Host) gathererStats(st sdk.Stats) {
	h.mu.Lock()
	links, configured := h.gatherer.links, len(h.cfg.Gatherers)
	h.mu.Unlock()
	var connected, connects, polls int64
	for i := 0; i < configured; i++ {
		var s link.Status
		if i < len(links) {
			s = links[i].Status()
		}
		if s.Connected {
			connected++
		}
		connects += s.Connects
		polls += s.Polls
		if configured > 1 {
			p := "statsherd.link." + strconv.Itoa(i) + "."
			st.Stats[p+"connected"] = boolValue(s.Connected)
			st.Counters[p+"connects"] = s.Connects
			st.Counters[p+"polls"] = s.Polls
		}
	}
	st.Stats["statsherd.link.configured"] = sdk.Int(int64(configured))
	st.Stats["statsherd.link.connected"] = sdk.Int(connected)
	st.Counters["statsherd.link.connects"] = connects
	st.Counters["statsherd.link.polls"] = polls
}

func boolValue(b bool) sdk.Value {
	if b {
		return sdk.Int(1)
	}
	return sdk.Int(0)
}
