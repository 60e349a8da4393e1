package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/supervisor"
)

func validateCommand() *command {
	return &command{
		name:    "validate",
		summary: "check a host or gatherer HCL file, plugins included",
		args:    []string{"FILE"},
		help: `Checks a host or gatherer HCL file fully: the file itself, then every
plugin it names is started and its block checked against the schema the
plugin declares. Prints diagnostics and exits 1 if anything is wrong.`,
		run: runValidate,
	}
}

func runValidate(ctx context.Context, c *cmdline) int {
	fs, stdout, stderr := c.fs, c.stdout, c.stderr
	kind := fs.String("kind", "", "host or gatherer (default: guessed from the file)")
	if code, done := c.parse(); done {
		return code
	}
	if *kind != "" && *kind != "host" && *kind != "gatherer" {
		return c.usageError("-kind must be host or gatherer, not %q", *kind)
	}
	path := c.arg(0)
	p := config.NewParser()
	f, diags := p.ParseFile(path)
	if diags.HasErrors() {
		p.WriteDiagnostics(stderr, diags)
		return 1
	}
	if *kind == "" {
		*kind = guessKind(f)
	}
	var blocks []config.PluginBlock
	switch *kind {
	case "host":
		h, d := config.LoadHost(p, path)
		diags = d
		if h != nil {
			blocks = h.Producers
		}
	case "gatherer":
		g, d := config.LoadGatherer(p, path)
		diags = d
		if g != nil {
			blocks = g.Outputs
		}
	default:
		return c.usageError("-kind must be host or gatherer, not %q", *kind)
	}
	if !diags.HasErrors() {
		diags = append(diags, checkPlugins(ctx, blocks)...)
	}
	if len(diags) > 0 {
		p.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		fmt.Fprintf(stderr, "%s: %d error(s); nothing was started.\n", path, len(diags.Errs()))
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid %s configuration (%d plugin(s) checked)\n", path, *kind, len(blocks))
	return 0
}

// checkPlugins starts each plugin of blocks and checks its block against
// the plugin's schema, stopping every plugin again.
func checkPlugins(ctx context.Context, blocks []config.PluginBlock) hcl.Diagnostics {
	var diags hcl.Diagnostics
	self, err := os.Executable()
	if err != nil {
		return diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot find the statsherd executable", Detail: err.Error()})
	}
	for _, b := range blocks {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, d := supervisor.Check(cctx, b, supervisor.Options{Self: self, Builtins: builtin.Plugins()}, false)
		cancel()
		diags = append(diags, d...)
	}
	return diags
}

// guessKind tells a gatherer file (output blocks, poll_interval) from a
// host file.
func guessKind(f *hcl.File) string {
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return "host"
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "output":
			return "gatherer"
		case "producer", "gatherer", "reporting":
			return "host"
		}
	}
	for name := range body.Attributes {
		switch name {
		case "poll_interval", "listen", "location":
			return "gatherer"
		}
	}
	return "host"
}
