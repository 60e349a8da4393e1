package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/host"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/supervisor"
)

const hostUsage = `usage:
  statsherd host [-config host.hcl] [-once]   run the host daemon
  statsherd host id [-config host.hcl]        print the node id (creating the node key)

Signals: SIGTERM or SIGINT stop the host; SIGHUP reloads the config file
(a bad file is reported and the host keeps running on the old one).

flags:
`

// nodeKeyName is the name of the node's key and certificate in the basedir
// (node.key, node.crt).
const nodeKeyName = "node"

// shutdownTimeout bounds stopping the plugins at exit.
const shutdownTimeout = 10 * time.Second

// runHost runs the host daemon.
func runHost(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && args[0] == "id" {
		sub, args = "id", args[1:]
	}
	fs := flag.NewFlagSet("statsherd host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, hostUsage)
		fs.PrintDefaults()
	}
	path := fs.String("config", "host.hcl", "the host's HCL file")
	once := fs.Bool("once", false, "collect once, print the JSON a gatherer would receive, and exit")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if sub == "" && fs.NArg() == 1 && fs.Arg(0) == "id" { // statsherd host -config F id
		sub = "id"
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "statsherd host: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}

	parser := config.NewParser()
	cfg, diags := config.LoadHost(parser, *path)
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}

	if sub == "id" {
		id, err := identity.LoadOrCreate(cfg.Basedir, nodeKeyName)
		if err != nil {
			fmt.Fprintf(stderr, "statsherd host id: node key in %s: %v\n", cfg.Basedir, err)
			return 1
		}
		fmt.Fprintln(stdout, id.ID)
		return 0
	}

	log := hclog.New(&hclog.LoggerOptions{
		Name:   "host",
		Level:  hclog.LevelFromString(cfg.LogLevel),
		Output: stderr,
	})
	if *once {
		return hostOnce(ctx, cfg, parser, log, stdout, stderr)
	}

	id, err := identity.LoadOrCreate(cfg.Basedir, nodeKeyName)
	if err != nil {
		fmt.Fprintf(stderr, "statsherd host: node key in %s: %v\n", cfg.Basedir, err)
		return 1
	}
	log = log.With("node", id.ID)
	// Orphans of the plugins are killed while the host runs and swept
	// after it has stopped them.
	defer supervisor.Subreap(ctx, log)()
	h, diags := host.New(ctx, cfg, host.Options{Logger: log, Identity: id})
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	code := 0
	if err := h.Start(ctx); err != nil {
		log.Error("cannot start", "error", err)
		code = 1
	} else {
		log.Info("host running", "nickname", cfg.Nickname, "config", cfg.Filename, "producers", len(cfg.Producers))
		serveSignals(ctx, h, *path, log)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := h.Close(sctx); err != nil {
		log.Error("stopping", "error", err)
		code = 1
	}
	log.Info("host stopped")
	return code
}

// serveSignals reloads the config file on SIGHUP until ctx is done
// (SIGTERM or SIGINT).
func serveSignals(ctx context.Context, h *host.Host, path string, log hclog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading", "config", path)
			parser := config.NewParser()
			cfg, diags := config.LoadHost(parser, path)
			if !diags.HasErrors() {
				diags = append(diags, h.Reload(ctx, cfg)...)
			}
			logDiagnostics(log, diags)
			if diags.HasErrors() {
				log.Error("reload failed; still running on the previous configuration", "config", path)
			}
		}
	}
}

// logDiagnostics logs each diagnostic with its place in the file.
func logDiagnostics(log hclog.Logger, diags hcl.Diagnostics) {
	for _, d := range diags {
		at := ""
		if d.Subject != nil {
			at = d.Subject.String()
		}
		if d.Severity == hcl.DiagError {
			log.Error(d.Summary, "at", at, "detail", d.Detail)
		} else {
			log.Warn(d.Summary, "at", at, "detail", d.Detail)
		}
	}
}

// hostOnce starts the producers, collects once, prints the answer and
// stops.
func hostOnce(ctx context.Context, cfg *config.Host, parser *config.Parser, log hclog.Logger, stdout, stderr io.Writer) int {
	h, diags := host.New(ctx, cfg, host.Options{Logger: log})
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	st := h.Poll(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := h.Close(sctx); err != nil {
		log.Warn("stopping", "error", err)
	}
	b, err := host.MarshalStats(st)
	if err != nil {
		fmt.Fprintf(stderr, "statsherd host: %v\n", err)
		return 1
	}
	stdout.Write(b)
	return 0
}
