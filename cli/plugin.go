package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/host"
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/gctune"
	"github.com/statsherd/statsherd/internal/reaper"
	"github.com/statsherd/statsherd/internal/trim"
	"github.com/statsherd/statsherd/sdk"
)

func pluginCommand() *command {
	return &command{
		name:    "plugin",
		summary: "describe or serve the built-in plugins",
		help: `The built-in producers and outputs are served by this binary: the daemons
run 'statsherd plugin serve KIND NAME' for each block that names one, or
'statsherd plugin serve KIND' once for all the blocks of KIND that name a
built-in (the host does this for its built-in producers).`,
		subs: []*command{
			{
				name:    "describe",
				summary: "print every built-in plugin as JSON",
				help: `Prints every built-in producer and output as JSON: name, version, the
stats it emits (kind and unit) and the attributes its HCL block takes
(type, default, description; a duration default as HCL writes it, "60s").`,
				run: runPluginDescribe,
			},
			{
				name:    "serve",
				summary: "serve built-in plugins (run by the daemons, not by hand)",
				args:    []string{"KIND", "[NAME]"},
				help: `Serves the built-in plugin NAME of KIND (producer or output) over
go-plugin's handshake on stdout: the host and gatherer run it; by hand it
refuses. Without NAME, it serves every built-in plugin of KIND from this
one process, each call naming the plugin and instance it is for: the host
serves all its built-in producers this way.`,
				run: runPluginServe,
			},
		},
	}
}

func runPluginDescribe(ctx context.Context, c *cmdline) int {
	if code, done := c.parse(); done {
		return code
	}
	if err := sdk.Describe(ctx, builtin.Plugins(), c.stdout); err != nil {
		fmt.Fprintf(c.stderr, "statsherd plugin describe: %v\n", err)
		return 1
	}
	return 0
}

func runPluginServe(ctx context.Context, c *cmdline) int {
	if code, done := c.parse(); done {
		return code
	}
	kind, name := c.arg(0), c.arg(1)
	if kind != sdk.KindProducer && kind != sdk.KindOutput {
		return c.usageError("KIND is %s or %s, not %q", sdk.KindProducer, sdk.KindOutput, kind)
	}
	// The process that serves plugins owns its children: what a plugin
	// (the exec producer's commands) leaves behind is reaped here, once
	// for the whole process.
	defer reaper.Start(ctx, nil)()
	if name == "" {
		// The host's built-ins: the host's collector settings (GOGC and
		// GOMEMLIMIT are the operator's or not set). Not stopped: the GC
		// percent back at the end would let the runtime force a last
		// collection on the way out.
		host.TuneShared(os.Environ())
		p := builtin.Plugins()
		// Once its plugins are configured, the process drops the pages
		// of this executable it mapped while starting (see trim).
		t := trim.NewPolled(trimQuiet, nil)
		for n, f := range p.Producers {
			p.Producers[n] = func(log hclog.Logger) sdk.Producer { return trimming{f(log), t} }
		}
		if err := sdk.ServeShared(p, kind); err != nil {
			fmt.Fprintf(c.stderr, "statsherd plugin serve: %v\n", err)
			return 1
		}
		return 0
	}
	if !builtin.Has(kind, name) {
		fmt.Fprintf(c.stderr, "statsherd plugin serve: there is no built-in %s named %q (see 'statsherd plugin describe')\n", kind, name)
		return 1
	}
	// By hand, say what to run instead (sdk's own hint, "run it with the
	// argument describe", is for a third-party plugin binary).
	if os.Getenv(sdk.Handshake.MagicCookieKey) != sdk.Handshake.MagicCookieValue {
		fmt.Fprintf(c.stderr, "statsherd plugin serve: this serves a plugin to the statsherd host or gatherer, which start it, not by hand; 'statsherd plugin describe' shows what it serves\n")
		return 1
	}
	// A plugin of its own (an output) drops the start-up pages of this
	// executable once its first seconds are over (see trim): its Configure
	// comes within them.
	trim.NewDebounced(trimQuiet, nil).Kick()
	// An output works a round at a time and waits for the next: 2 s after
	// each round its free heap goes back to the system (see gctune), and
	// the pages of this executable the round ran are dropped again.
	if kind == sdk.KindOutput {
		defer gctune.AfterBurst(roundQuiet, roundBurst, func() {
			gctune.Release()
			trim.Executable()
		})()
	}
	if err := sdk.ServeOne(builtin.Plugins(), kind, name); err != nil {
		fmt.Fprintf(c.stderr, "statsherd plugin serve: %v\n", err)
		return 1
	}
	return 0
}

// The gatherer and an output's process give memory back once roundQuiet
// has passed after a round that allocated roundBurst bytes or more: at
// 1,000 hosts of 100 stats a round is ≈ 3.4 MB.
const (
	roundQuiet = 2 * time.Second
	roundBurst = 1 << 20
)

// trimQuiet is how long after the last Configure a shared plugin process
// considers its start-up over; a poll (Collect) that comes this long or
// more after the previous one is over 20 ms after its last call
// (trim.Debounced.Polled).
const trimQuiet = 10 * time.Second

// trimming is a producer in a shared process whose Configure and Collect
// mark work that maps pages of the executable, so the process trims once
// start-up, and then each poll, is over.
type trimming struct {
	sdk.Producer
	t *trim.Debounced
}

func (p trimming) Configure(ctx context.Context, cfg sdk.Config) error {
	defer p.t.Kick()
	return p.Producer.Configure(ctx, cfg)
}

func (p trimming) Collect(ctx context.Context) (sdk.Stats, error) {
	defer p.t.Polled()
	return p.Producer.Collect(ctx)
}

var _ sdk.Producer = trimming{}
