package fanout

import (
	"context"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/supervisor"
)

// timedOutput is an output plugin with its block's write timeout.
type timedOutput struct {
	*supervisor.Plugin
	timeout time.Duration
}

func (t timedOutput) WriteTimeout() time.Duration { return t.timeout }

// LoadOutputs starts the outputs of cfg (the default munin snapshot writer
// if it names none), each configured from its block. On error none is
// left running.
func LoadOutputs(ctx context.Context, cfg *config.Gatherer, o supervisor.Options) ([]Output, hcl.Diagnostics) {
	blocks := cfg.Outputs
	var diags hcl.Diagnostics
	if len(blocks) == 0 {
		blocks, diags = cfg.DefaultOutputs()
		if diags.HasErrors() {
			return nil, diags
		}
	}
	if o.Timeout == 0 {
		o.Timeout = cfg.OutputTimeout
	}
	var outs []Output
	for _, b := range blocks {
		p, d := supervisor.Load(ctx, b, o)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		outs = append(outs, timedOutput{Plugin: p, timeout: b.Timeout})
	}
	if diags.HasErrors() {
		StopOutputs(ctx, outs)
		return nil, diags
	}
	return outs, diags
}

// StopOutputs stops outputs that were never handed to a gatherer.
func StopOutputs(ctx context.Context, outs []Output) {
	for _, o := range outs {
		o.Stop(ctx)
	}
}
