package host

import (
	"context"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/supervisor"
)

// Reload switches the host to cfg, a configuration already decoded without
// errors. Producers whose block is unchanged keep running (their state and
// counters survive); new and changed ones are started first, and only if
// all of them start and accept their blocks does the host switch and stop
// the old ones. On error the host keeps running on the old configuration
// and the diagnostics say why. Listening addresses, the register socket and
// the basedir are not changed by a reload: the host logs that a restart is
// needed and keeps the old ones. The statsd counters always survive.
func (h *Host) Reload(ctx context.Context, cfg *config.Host) hcl.Diagnostics {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.mu.Lock()
	old, running := h.cfg, h.producers
	h.mu.Unlock()

	byName := map[string]*producer{}
	for _, p := range running {
		byName[p.block.Name] = p
	}
	var toStart []config.PluginBlock
	for _, b := range cfg.Producers {
		if p, ok := byName[b.Name]; !ok || !sameProducer(p, b) {
			toStart = append(toStart, b)
		}
	}
	diags := h.checkGatherer(cfg)
	if diags.HasErrors() {
		return diags
	}
	started, d := h.loadProducers(ctx, toStart, cfg.PollTimeout)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return diags
	}
	fresh := map[string]*producer{}
	for _, p := range started {
		fresh[p.block.Name] = p
	}
	next := make([]*producer, 0, len(cfg.Producers))
	kept := map[*producer]bool{}
	for _, b := range cfg.Producers {
		if p, ok := fresh[b.Name]; ok {
			next = append(next, p)
			continue
		}
		p := byName[b.Name]
		p.block = b
		p.col.setTimeout(timeoutFor(b, cfg.PollTimeout))
		kept[p] = true
		next = append(next, p)
	}
	var stop []*producer
	for _, p := range running {
		if !kept[p] {
			stop = append(stop, p)
		}
	}

	// What a reload cannot change.
	c := *cfg
	for _, x := range []struct {
		what    string
		changed bool
	}{
		{"basedir", c.Basedir != old.Basedir},
		{"reporting.statsd", c.Reporting.StatsdListen != old.Reporting.StatsdListen},
		{"reporting.socket", c.Reporting.Socket != old.Reporting.Socket},
		{"reporting.statsd_expiry", c.Reporting.StatsdExpiry != old.Reporting.StatsdExpiry},
		{"reporting.statsd_max_names", c.Reporting.StatsdMaxNames != old.Reporting.StatsdMaxNames},
		{"status.listen", c.Status.Listen != old.Status.Listen},
		{"log_format", c.LogFormat != old.LogFormat},
	} {
		if x.changed {
			h.log.Warn("setting changed; restart the host to apply it (a reload keeps the old value)", "setting", x.what)
		}
	}
	c.Basedir, c.Reporting, c.Status, c.LogFormat = old.Basedir, old.Reporting, old.Status, old.LogFormat
	relink := c.Nickname != old.Nickname || !sameGatherers(c.Gatherers, old.Gatherers)

	if c.LogLevel != old.LogLevel {
		h.log.SetLevel(hclog.LevelFromString(c.LogLevel))
	}
	h.mu.Lock()
	h.cfg, h.producers = &c, next
	reg := h.reg
	h.mu.Unlock()
	if reg != nil {
		for _, r := range reg.producers() {
			r.col.setTimeout(c.PollTimeout)
		}
	}
	stopProducers(ctx, stop)
	if relink {
		h.restartGatherer()
	}
	h.trim.Kick()
	h.log.Info("configuration reloaded", "file", cfg.Filename,
		"producers", len(next), "started", len(started), "stopped", len(stop), "kept", len(kept))
	return diags
}

// allStates returns the state of every producer: configured ones in
// config order, then registered programs by name.
func (h *Host) allStates() []supervisor.State {
	h.mu.Lock()
	out := make([]supervisor.State, 0, len(h.producers))
	for _, p := range h.producers {
		out = append(out, p.plugin.State())
	}
	reg := h.reg
	h.mu.Unlock()
	if reg != nil {
		for _, r := range reg.producers() {
			out = append(out, r.stateSnapshot())
		}
	}
	return out
}
