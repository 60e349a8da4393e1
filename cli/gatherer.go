package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/internal/supervisor"
)

const gathererUsage = `usage: statsherd gatherer (-basedir DIR | -config FILE)
       statsherd gatherer nodes|approve ID|revoke ID|rotate-secret (-basedir DIR | -config FILE)

Runs the gatherer: accepts hosts, polls them every poll_interval and hands
each round to the outputs. With -basedir, DIR/gatherer.hcl is read if it
exists (create the directory with 'statsherd create-gatherer DIR'). The
furl is written to stats_gatherer.furl in the base directory and printed
on stdout. SIGTERM or SIGINT stop it (outputs flushed and closed).

flags:
`

const createGathererUsage = `usage: statsherd create-gatherer [-port N] [-location HOST[:PORT],...] DIR

Creates a gatherer base directory: TLS key, secret, port, a commented
gatherer.hcl, and stats_gatherer.furl, and prints the furl.

flags:
`

// runGatherer runs the gatherer daemon.
func runGatherer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if _, ok := gathererControlOps[args[0]]; ok {
			return runGathererControl(ctx, args[0], args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("statsherd gatherer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, gathererUsage)
		fs.PrintDefaults()
	}
	basedir := fs.String("basedir", "", "the gatherer's base directory")
	path := fs.String("config", "", "the gatherer's HCL file (default DIR/gatherer.hcl)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || (*basedir == "" && *path == "") {
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "statsherd gatherer: unexpected argument %q\n", fs.Arg(0))
		}
		fs.Usage()
		return 2
	}
	parser := config.NewParser()
	cfg, diags := loadGathererConfig(parser, *basedir, *path)
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name: "gatherer", Output: stderr, Level: hclog.LevelFromString(cfg.LogLevel),
	})
	if n, err := gatherer.RaiseFileLimit(); err != nil {
		log.Warn("cannot raise the open file limit", "error", err)
	} else if n > 0 {
		log.Debug("open file limit", "limit", n)
	}
	// Relative paths in output blocks (the munin snapshot) are relative to
	// the base directory, as in Tahoe's gatherer.
	if err := os.MkdirAll(cfg.Basedir, 0o700); err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	if err := os.Chdir(cfg.Basedir); err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	outs, diags := gatherer.LoadOutputs(ctx, cfg, supervisor.Options{Logger: log, Stdout: stdout})
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		fmt.Fprintln(stderr, "statsherd gatherer: outputs could not be started; nothing is running.")
		return 1
	}
	g, err := gatherer.Open(cfg, outs, log)
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		gatherer.StopOutputs(stopCtx, outs)
		cancel()
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, g.Furl().String())
	if err := g.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	return 0
}

// loadGathererConfig reads FILE, else DIR/gatherer.hcl if it exists, else
// uses the defaults with base directory DIR.
func loadGathererConfig(p *config.Parser, basedir, path string) (*config.Gatherer, hcl.Diagnostics) {
	if path == "" {
		candidate := filepath.Join(basedir, config.GathererFileName)
		if _, err := os.Stat(candidate); err == nil {
			path = candidate
		}
	}
	if path != "" {
		cfg, diags := config.LoadGatherer(p, path)
		if cfg != nil && basedir != "" && !diags.HasErrors() {
			abs, err := filepath.Abs(basedir)
			if err == nil && abs != cfg.Basedir {
				return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Conflicting base directories",
					Detail: fmt.Sprintf("-basedir says %s but %s says %s; give one of them.", abs, path, cfg.Basedir)})
			}
		}
		return cfg, diags
	}
	abs, err := filepath.Abs(basedir)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid base directory", Detail: err.Error()}}
	}
	return config.DefaultGatherer(abs), nil
}

// runCreateGatherer creates a gatherer base directory and prints its furl.
func runCreateGatherer(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statsherd create-gatherer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, createGathererUsage)
		fs.PrintDefaults()
	}
	port := fs.Int("port", 0, "TCP port to listen on (default: a free port, remembered in portnum)")
	location := fs.String("location", "", "comma-separated location hints for the furl (default: this machine's addresses and 127.0.0.1)")
	// Accept flags after DIR too.
	var dir string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		dir, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if dir == "" && fs.NArg() == 1 {
		dir = fs.Arg(0)
	} else if fs.NArg() > 0 || dir == "" {
		fs.Usage()
		return 2
	}
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(stderr, "statsherd create-gatherer: -port %d is not a port number\n", *port)
		return 2
	}
	var hints []string
	if *location != "" {
		hints = strings.Split(*location, ",")
	}
	f, err := gatherer.Create(dir, gatherer.CreateOptions{Port: *port, Location: hints})
	if err != nil {
		fmt.Fprintf(stderr, "statsherd create-gatherer: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "created gatherer in %s; give hosts its stats_gatherer.furl; run it with: statsherd gatherer -basedir %s\n", dir, dir)
	fmt.Fprintln(stdout, f.String())
	return 0
}
