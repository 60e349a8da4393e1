package supervisor

import (
	"context"
	"io"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
)

// Options are a daemon's settings for the plugins it loads from HCL blocks.
type Options struct {
	// Self is the statsherd executable that serves built-in plugins; ""
	// means this executable.
	Self string
	// Logger is the daemon's logger; each plugin logs under
	// "<kind>.<name>" below it.
	Logger hclog.Logger
	// Timeout is the call deadline of plugins whose block sets none.
	Timeout time.Duration
	// MinBackoff and MaxBackoff bound restart backoff (see Spec).
	MinBackoff, MaxBackoff time.Duration
	// Stdout receives the plugins' standard output (see Spec); the
	// gatherer passes its own, for the stdout output.
	Stdout io.Writer
	// Shared, if set, is the process that serves the built-in plugins of
	// its kind (NewShared): a block naming a built-in, without plugin or
	// sha256, runs there instead of in a process of its own.
	Shared *Pool
}

// SpecFor turns a plugin block into a Spec.
func SpecFor(b config.PluginBlock, o Options) (Spec, hcl.Diagnostics) {
	path, args, err := Resolve(b.Kind, b.Name, b.Plugin, o.Self)
	if err != nil {
		return Spec{}, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown " + b.Kind,
			Detail: err.Error(), Subject: b.DefRange.Ptr()}}
	}
	log := o.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	timeout := b.Timeout
	if timeout == 0 {
		timeout = o.Timeout
	}
	return Spec{
		Kind: b.Kind, Name: b.Name, Path: path, Args: args, SHA256: b.SHA256,
		Timeout: timeout, MinBackoff: o.MinBackoff, MaxBackoff: o.MaxBackoff,
		Logger: log.Named(b.Kind + "." + b.Name),
		Stdout: o.Stdout,
		Pool:   sharedFor(b, o.Shared),
	}, nil
}

// sharedFor is the shared process block b runs in, nil if its own: only a
// built-in (no plugin path) that pins no checksum joins the shared process
// of its kind.
func sharedFor(b config.PluginBlock, shared *Pool) *Pool {
	if shared == nil || shared.kind != b.Kind || b.Plugin != "" || len(b.SHA256) > 0 {
		return nil
	}
	return shared
}

// Load starts the plugin a block names, decodes the block against the
// schema the plugin declares, and configures the plugin. Every problem is a
// diagnostic pointing into the HCL file; on error nothing is left running.
func Load(ctx context.Context, b config.PluginBlock, o Options) (*Plugin, hcl.Diagnostics) {
	return Check(ctx, b, o, true)
}

// Check starts the plugin a block names and decodes the block against the
// plugin's schema. With keep false the plugin is stopped afterwards (this is
// `statsherd validate`); with keep true it is also configured and returned
// running.
func Check(ctx context.Context, b config.PluginBlock, o Options, keep bool) (*Plugin, hcl.Diagnostics) {
	spec, diags := SpecFor(b, o)
	if diags.HasErrors() {
		return nil, diags
	}
	p, err := New(spec)
	if err != nil {
		return nil, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot run " + b.Kind + " " + b.Name,
			Detail: err.Error(), Subject: b.DefRange.Ptr()})
	}
	info, err := p.Start(ctx)
	if err != nil {
		p.Stop(ctx)
		return nil, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot start " + b.Kind + " " + b.Name,
			Detail: err.Error(), Subject: b.DefRange.Ptr()})
	}
	cfg, cfgDiags := b.Decode(info.Config)
	diags = append(diags, cfgDiags...)
	if diags.HasErrors() || !keep {
		p.Stop(ctx)
		return nil, diags
	}
	if err := p.Configure(ctx, cfg); err != nil {
		p.Stop(ctx)
		return nil, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot configure " + b.Kind + " " + b.Name,
			Detail: err.Error(), Subject: b.DefRange.Ptr()})
	}
	return p, diags
}
