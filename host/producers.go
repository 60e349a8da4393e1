package host

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/supervisor"
)

// producer is one configured producer plugin.
type producer struct {
	block config.PluginBlock
	// cfg is the block decoded against the plugin's schema, to tell
	// whether a reload changed it.
	cfg    []byte
	plugin *supervisor.Plugin
	col    *collector
}

// timeoutFor is a producer's collect timeout: its own, bounded by the
// poll's.
func timeoutFor(b config.PluginBlock, poll time.Duration) time.Duration {
	if b.Timeout > 0 && b.Timeout < poll {
		return b.Timeout
	}
	return poll
}

// loadProducers starts the plugins of blocks concurrently. On any error
// every plugin started is stopped again and the diagnostics say why.
func (h *Host) loadProducers(ctx context.Context, blocks []config.PluginBlock, pollTimeout time.Duration) ([]*producer, hcl.Diagnostics) {
	out := make([]*producer, len(blocks))
	diags := make([]hcl.Diagnostics, len(blocks))
	var wg sync.WaitGroup
	for i, b := range blocks {
		wg.Go(func() {
			opts := h.supervisorOptions(pollTimeout)
			p, d := supervisor.Load(ctx, b, opts)
			diags[i] = d
			if p == nil {
				return
			}
			cfg, _ := b.Decode(p.Info().Config)
			log := opts.Logger.Named("producer." + b.Name)
			out[i] = &producer{block: b, cfg: cfg, plugin: p,
				col: &collector{name: "producer " + b.Name, timeout: timeoutFor(b, pollTimeout), fn: p.Collect, base: h.base, log: log}}
		})
	}
	wg.Wait()
	var all hcl.Diagnostics
	for _, d := range diags {
		all = append(all, d...)
	}
	if all.HasErrors() {
		stopProducers(ctx, out)
		return nil, all
	}
	return out, all
}

func (h *Host) supervisorOptions(pollTimeout time.Duration) supervisor.Options {
	return supervisor.Options{
		Self:       h.opts.Self,
		Builtins:   h.opts.Builtins,
		Logger:     h.log,
		Timeout:    pollTimeout,
		MinBackoff: h.opts.PluginMinBackoff,
		MaxBackoff: h.opts.PluginMaxBackoff,
		Shared:     h.shared,
	}
}

// stopProducers stops the plugins concurrently.
func stopProducers(ctx context.Context, ps []*producer) {
	var wg sync.WaitGroup
	for _, p := range ps {
		if p != nil {
			wg.Go(func() { p.plugin.Stop(ctx) })
		}
	}
	wg.Wait()
}

// sameProducer reports whether block b would run exactly what p runs: the
// same plugin, pin and timeout, and the same decoded config.
func sameProducer(p *producer, b config.PluginBlock) bool {
	old := p.block
	if old.Name != b.Name || old.Plugin != b.Plugin || !bytes.Equal(old.SHA256, b.SHA256) || old.Timeout != b.Timeout {
		return false
	}
	cfg, diags := b.Decode(p.plugin.Info().Config)
	return !diags.HasErrors() && bytes.Equal(cfg, p.cfg)
}
