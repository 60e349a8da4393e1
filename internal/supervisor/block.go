package supervisor

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// Options are a daemon's settings for the plugins it loads from HCL blocks.
type Options struct {
	// Self is the statsherd executable that serves built-in plugins; ""
	// means this executable.
	Self string
	// Builtins are the plugins Self serves (the daemon's command passes
	// its list): a block that names none of them and gives no plugin path
	// is an error.
	Builtins sdk.Plugins
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
	// Env is added to the environment of every built-in plugin that runs
	// in a process of its own (no plugin path, not in Shared): the daemon's
	// runtime tuning of its own plugins (see TuningEnv). A third-party
	// plugin's process is left to its author and the operator.
	Env []string
}

// SpecFor turns a plugin block into a Spec.
func SpecFor(b config.PluginBlock, o Options) (Spec, hcl.Diagnostics) {
	path, args, err := Resolve(b.Kind, b.Name, b.Plugin, o.Self, o.Builtins)
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
	pool := sharedFor(b, o.Shared)
	var env []string
	if b.Plugin == "" && pool == nil {
		env = o.Env
	}
	return Spec{
		Kind: b.Kind, Name: b.Name, Path: path, Args: args, SHA256: b.SHA256,
		Timeout: timeout, MinBackoff: o.MinBackoff, MaxBackoff: o.MaxBackoff,
		Logger: log.Named(b.Kind + "." + b.Name),
		Stdout: o.Stdout,
		Pool:   pool,
		Env:    env,
	}, nil
}

// TuningEnv is the part of tuning (NAME=value settings) that env (the
// daemon's environment, os.Environ()) does not already set: an operator's
// own GOGC or GOMEMLIMIT wins over the daemon's default for its plugins.
func TuningEnv(env, tuning []string) []string {
	var out []string
	for _, kv := range tuning {
		name, _, _ := strings.Cut(kv, "=")
		set := false
		for _, e := range env {
			if strings.HasPrefix(e, name+"=") {
				set = true
				break
			}
		}
		if !set {
			out = append(out, kv)
		}
	}
	return out
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
// plugin's schema. With keep true it is also configured and returned
// running. With keep false (`statsherd validate`) its Configure runs as a
// dry run (sdk.Checker: nothing listens, nothing is written), so its
// errors are the ones the daemon would get, then the plugin is stopped; a
// plugin without a dry run gets a warning saying only its schema was
// checked.
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
	if diags.HasErrors() {
		p.Stop(ctx)
		return nil, diags
	}
	cctx := ctx
	if !keep {
		cctx = daemon.WithDryRun(ctx)
	}
	err = p.Configure(cctx, cfg)
	switch {
	case !keep && errors.Is(err, sdk.ErrNoDryRun):
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: b.Kind + " " + b.Name + " has no dry run",
			Detail:  "Its block matches its schema; whether its values work shows only when the daemon configures it (the plugin implements no sdk.Checker).",
			Subject: b.DefRange.Ptr()})
	case err != nil:
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot configure " + b.Kind + " " + b.Name,
			Detail: err.Error(), Subject: b.DefRange.Ptr()})
	}
	if diags.HasErrors() || !keep {
		p.Stop(ctx)
		return nil, diags
	}
	return p, diags
}
