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
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/reaper"
)

func hostCommand() *command {
	return &command{
		name:    "host",
		summary: "run the per-node host daemon (stats provider)",
		help: `Runs the host: starts the producers of its HCL file, reports to the
gatherer its furl names, and serves its stats locally. -once collects
once, prints the JSON a gatherer would receive, and exits.

Signals: SIGTERM or SIGINT stop the host; SIGHUP reloads the config file
(a bad file is reported and the host keeps running on the old one).`,
		run: runHost,
		subs: []*command{{
			name:    "id",
			summary: "print the node id (creating the node key)",
			help: `Prints the node id, derived from the node key in the host's basedir
(created there if there is none yet).`,
			run: runHostID,
		}},
	}
}

// nodeKeyName is the name of the node's key and certificate in the basedir
// (node.key, node.crt).
const nodeKeyName = "node"

// shutdownTimeout bounds stopping the plugins at exit.
const shutdownTimeout = 10 * time.Second

// hostConfigFlag defines -config, the host's HCL file.
func hostConfigFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "host.hcl", "the host's HCL file")
}

// loadHost loads the host's HCL file, writing its diagnostics to stderr.
func loadHost(path string, stderr io.Writer) (*config.Host, *config.Parser, bool) {
	parser := config.NewParser()
	cfg, diags := config.LoadHost(parser, path)
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	return cfg, parser, !diags.HasErrors()
}

// runHostID prints the node id.
func runHostID(_ context.Context, c *cmdline) int {
	fs, stdout, stderr := c.fs, c.stdout, c.stderr
	path := hostConfigFlag(fs)
	if code, done := c.parse(); done {
		return code
	}
	cfg, _, ok := loadHost(*path, stderr)
	if !ok {
		return 1
	}
	id, made, err := loadNodeIdentity(cfg.Basedir)
	if err != nil {
		fmt.Fprintf(stderr, "statsherd host id: node key in %s: %v\n", cfg.Basedir, err)
		return 1
	}
	if made {
		fmt.Fprintf(stderr, "statsherd host id: made a new node id in %s (no %s.key there yet)\n", cfg.Basedir, nodeKeyName)
	}
	fmt.Fprintln(stdout, id.ID)
	return 0
}

// runHost runs the host daemon.
func runHost(ctx context.Context, c *cmdline) int {
	fs, stdout, stderr := c.fs, c.stdout, c.stderr
	path := hostConfigFlag(fs)
	once := fs.Bool("once", false, "collect once, print the JSON a gatherer would receive, and exit")
	if code, done := c.parse(); done {
		return code
	}
	cfg, parser, ok := loadHost(*path, stderr)
	if !ok {
		return 1
	}

	log := hclog.New(&hclog.LoggerOptions{
		Name:       "host",
		Level:      hclog.LevelFromString(cfg.LogLevel),
		Output:     stderr,
		JSONFormat: cfg.LogFormat == "json",
	})
	if *once {
		return hostOnce(ctx, cfg, parser, log, stdout, stderr)
	}

	host.TuneSelf(os.Environ())
	id, made, err := loadNodeIdentity(cfg.Basedir)
	if err != nil {
		fmt.Fprintf(stderr, "statsherd host: node key in %s: %v\n", cfg.Basedir, err)
		return 1
	}
	log = log.With("node", id.ID)
	if made {
		log.Info("made a new node id: the gatherer sees a new node", "key", id.KeyFile)
	}
	// Orphans of the plugins are killed while the host runs and swept
	// after it has stopped them.
	defer reaper.Start(ctx, log)()
	h, diags := host.New(ctx, cfg, host.Options{Logger: log, Identity: id, Builtins: builtin.Plugins()})
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
	h, diags := host.New(ctx, cfg, host.Options{Logger: log, Builtins: builtin.Plugins()})
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
