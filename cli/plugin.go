package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/sdk"
)

func pluginCommand() *command {
	return &command{
		name:    "plugin",
		summary: "describe or serve the built-in plugins",
		help: `The built-in producers and outputs are served by this binary: the daemons
run 'statsherd plugin serve KIND NAME' for each block that names one.`,
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
				summary: "serve one built-in plugin (run by the daemons, not by hand)",
				args:    []string{"KIND", "NAME"},
				help: `Serves the built-in plugin NAME of KIND (producer or output) over
go-plugin's handshake on stdout: the host and gatherer run it; by hand it
refuses.`,
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

func runPluginServe(_ context.Context, c *cmdline) int {
	if code, done := c.parse(); done {
		return code
	}
	kind, name := c.arg(0), c.arg(1)
	if kind != sdk.KindProducer && kind != sdk.KindOutput {
		return c.usageError("KIND is %s or %s, not %q", sdk.KindProducer, sdk.KindOutput, kind)
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
	if err := sdk.ServeOne(builtin.Plugins(), kind, name); err != nil {
		fmt.Fprintf(c.stderr, "statsherd plugin serve: %v\n", err)
		return 1
	}
	return 0
}
