package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/supervisor"
)

func validateCommand() *command {
	return &command{
		name:    "validate",
		summary: "check a host or gatherer HCL file, plugins included",
		args:    []string{"FILE"},
		help: `Checks a host or gatherer HCL file fully, as the daemon would: the file
itself, then every plugin it names is started, its block checked against
the schema the plugin declares, and its Configure run as a dry run
(nothing listens, nothing is written). Prints every diagnostic at once,
then "N errors", and exits 1 if anything is wrong.`,
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
			// As the daemon: the outputs' relative paths are relative to
			// the base directory, which create-gatherer (or gatherer
			// -create) must have made.
			if err := basedir.Check(g.Basedir); err != nil {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "No gatherer base directory yet",
					Detail: err.Error() + "; the outputs' relative paths were checked relative to the current directory.",
				})
			} else if err := os.Chdir(g.Basedir); err != nil {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid basedir", Detail: err.Error()})
			}
		}
	default:
		return c.usageError("-kind must be host or gatherer, not %q", *kind)
	}
	// Every error at once: the plugins are checked even when the rest of
	// the file has errors.
	diags = dedupe(append(diags, checkPlugins(ctx, blocks)...))
	if len(diags) > 0 {
		p.WriteDiagnostics(stderr, diags)
	}
	if n := len(diags.Errs()); n > 0 {
		word := "errors"
		if n == 1 {
			word = "error"
		}
		fmt.Fprintf(stderr, "%s: %d %s\n", path, n, word)
		return 1
	}
	fmt.Fprintf(stdout, "%s: valid %s configuration (%d plugin(s) checked)\n", path, *kind, len(blocks))
	return 0
}

// dedupe drops repeated diagnostics (a block's mistake found by the file's
// decoding and again by its plugin's schema).
func dedupe(diags hcl.Diagnostics) hcl.Diagnostics {
	seen := map[string]bool{}
	var out hcl.Diagnostics
	for _, d := range diags {
		k := fmt.Sprintf("%d|%s|%s|%v", d.Severity, d.Summary, d.Detail, d.Subject)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
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
