package host

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/sdk"
)

// gathererLink is the running connection to the gatherer, if any.
type gathererLink struct {
	link   *link.Link
	cancel context.CancelFunc
	done   chan struct{}
}

func (l gathererLink) stop() {
	if l.cancel != nil {
		l.cancel()
		<-l.done
	}
}

// startGatherer dials the gatherer cfg names, if any, and keeps the
// connection until the host stops or the gatherer settings change. The
// caller holds h.mu.
func (h *Host) startGatherer(cfg *config.Host) error {
	if !cfg.Gatherer.Configured() {
		h.log.Info("no gatherer configured: stats are served locally only")
		return nil
	}
	if h.opts.Identity == nil {
		return fmt.Errorf("connecting to the gatherer: the host has no node identity")
	}
	l, err := link.New(link.Config{
		Furl:       cfg.Gatherer.FURL,
		Identity:   h.opts.Identity,
		Nickname:   cfg.Nickname,
		Versions:   map[string]string{"statsherd": version.String()},
		Poll:       h.Poll,
		Log:        h.log,
		MinBackoff: cfg.Gatherer.MinBackoff,
		MaxBackoff: cfg.Gatherer.MaxBackoff,
	})
	if err != nil {
		return fmt.Errorf("connecting to the gatherer: %w", err)
	}
	ctx, cancel := context.WithCancel(h.base)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx)
	}()
	h.gatherer = gathererLink{link: l, cancel: cancel, done: done}
	h.log.Info("connecting to the gatherer", "furl", cfg.Gatherer.FURL.Redacted())
	return nil
}

// restartGatherer restarts the gatherer connection with the current
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

// sameGatherer reports whether a and b name the same gatherer the same way.
func sameGatherer(a, b config.GathererLink) bool {
	return a.FURL.String() == b.FURL.String() && a.MinBackoff == b.MinBackoff && a.MaxBackoff == b.MaxBackoff
}

// checkGatherer checks what config.LoadHost cannot: that this host can
// connect to a gatherer at all.
func (h *Host) checkGatherer(cfg *config.Host) hcl.Diagnostics {
	if cfg.Gatherer.Configured() && h.opts.Identity == nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No node identity",
			Detail: "The host cannot connect to a gatherer without its node key."}}
	}
	return nil
}

// gathererStatus says, for people, how the gatherer connection is.
func (h *Host) gathererStatus() string {
	h.mu.Lock()
	l := h.gatherer.link
	h.mu.Unlock()
	if l == nil {
		return "none configured; stats are served locally only"
	}
	s := l.Status()
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

// gathererStats adds the state of the gatherer connection to st. The
// names are the same whether or not the link runs (--once), so every
// answer of a host has the same shape.
func (h *Host) gathererStats(st sdk.Stats) {
	h.mu.Lock()
	l, configured := h.gatherer.link, h.cfg.Gatherer.Configured()
	h.mu.Unlock()
	var s link.Status
	if l != nil {
		s = l.Status()
	}
	st.Stats["statsherd.link.configured"] = boolValue(configured)
	st.Stats["statsherd.link.connected"] = boolValue(s.Connected)
	st.Counters["statsherd.link.connects"] = s.Connects
	st.Counters["statsherd.link.polls"] = s.Polls
}

func boolValue(b bool) sdk.Value {
	if b {
		return sdk.Int(1)
	}
	return sdk.Int(0)
}
