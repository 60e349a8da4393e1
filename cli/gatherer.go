package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/sys/unix"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/fanout"
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/gctune"
	"github.com/statsherd/statsherd/internal/reaper"
	"github.com/statsherd/statsherd/internal/supervisor"
	"github.com/statsherd/statsherd/internal/trim"
)

// outputTuning is the runtime settings of the built-in output plugins'
// processes (an operator's own GOGC wins; third-party outputs get none). An
// output holds its model (munin: ≈ 11.5 MiB at 10,000 hosts × 100 stats)
// and, while it writes, one decoded round; with the default GOGC=100 its
// resident memory grew to twice that and more. At 10,000 hosts, GOGC=25 kept
// the munin plugin at 97–121 MiB instead of 130–215 MiB for 0.1 s more CPU
// per round and no longer writes (docs/gatherer-measurements.md, "Footprint").
var outputTuning = []string{"GOGC=25"}

// gathererGC is the gatherer's own GC percent unless the operator sets
// one: it follows the live heap (package gctune), a point per 2 MiB,
// from 10 to 50, but leaves at most 30 MiB of headroom (live heap ×
// percent): past ≈ 77 MiB live the percent falls again, to 10. At 1,000
// hosts (≈ 20 MiB live) GOGC=10 held 8–9 MiB less than 50 at the same CPU
// a round. At 10,000 (≈ 200 MiB live) the rise alone gave 50, and the
// largest RSS sample was 0–5 % over vmagent's. A 25 MiB headroom (12
// there) brought it 20–35 MiB under, for about 15 % more CPU a round
// and round medians of 0.117–0.151 ms a host; 40 MiB (20 there) gave
// faster rounds (0.093–0.121) but its largest sample went over vmagent's
// in two of three quiet runs (by 8 and 12 MiB); 30 MiB (15 there) stayed
// 17–26 MiB under in both of its runs, at 0.110 and 0.134 (docs/footprint.md,
// "The gatherer's GC percent at 10,000 hosts", "The gatherer's round,
// fifth stop" and "On a quiet machine, end of the fifth stop").
var gathererGC = gcCurve{Scale: gctune.Scale{Min: 10, Max: 50, Per: 2 << 20}, Headroom: 30 << 20}

// gcCurve is a GC percent rising with the live heap as Scale, capped so
// that the headroom it leaves, live × percent / 100, is at most Headroom
// bytes (0: no cap), but never under Scale's Min.
type gcCurve struct {
	gctune.Scale
	Headroom uint64
}

// Percent is the GC percent for live bytes of live heap.
func (c gcCurve) Percent(live uint64) int {
	p := c.Scale.Percent(live)
	if c.Headroom == 0 || live == 0 {
		return p
	}
	if capped := float64(c.Headroom) * 100 / float64(live); capped < float64(p) {
		p = max(c.Min, int(capped))
	}
	return p
}

// tuneGathererGC makes the gatherer's GC percent follow gathererGC when
// the GOGC variable (read with getenv) is unset, and returns what stops
// it; with the operator's GOGC it changes nothing.
func tuneGathererGC(getenv func(string) string) (stop func()) {
	if getenv("GOGC") != "" {
		return func() {}
	}
	return gctune.Follow(gathererGC.Percent)
}

func gathererCommand() *command {
	return &command{
		name:    "gatherer",
		summary: "run the gatherer daemon",
		help: `Runs the gatherer: accepts hosts, polls them every poll_interval and hands
each round to the outputs. Give -basedir DIR or -config FILE. With -basedir,
DIR/gatherer.hcl is read if it exists. The base directory must have been
made by 'statsherd create-gatherer DIR' (a mistyped path never starts a
gatherer with a new identity); -create makes the identity there if it has
none. The furl is written to stats_gatherer.furl in the base directory and
printed on stdout (not into the systemd journal). SIGTERM or SIGINT stop
it (outputs flushed and closed); SIGHUP rereads the allowlist and
disconnects nodes taken off it (a changed gatherer.hcl takes a restart).
The subcommands manage the nodes of a gatherer, running or not.`,
		run:  runGatherer,
		subs: gathererControlCommands(),
	}
}

func createGathererCommand() *command {
	return &command{
		name:    "create-gatherer",
		summary: "create a gatherer base directory and print its furl",
		args:    []string{"DIR"},
		help: `Creates a gatherer base directory: TLS key, secret, port, a commented
gatherer.hcl, and stats_gatherer.furl, and prints the furl.`,
		run: runCreateGatherer,
	}
}

// runGatherer runs the gatherer daemon.
func runGatherer(ctx context.Context, c *cmdline) int {
	fs, stdout, stderr := c.fs, c.stdout, c.stderr
	basedirFlag := fs.String("basedir", "", "the gatherer's base directory")
	path := fs.String("config", "", "the gatherer's HCL file (default DIR/gatherer.hcl)")
	create := fs.Bool("create", false, "make a new gatherer identity (key, secret) in the base directory if it has none")
	if code, done := c.parse(); done {
		return code
	}
	if *basedirFlag == "" && *path == "" {
		return c.usageError("give -basedir DIR or -config FILE")
	}
	parser := config.NewParser()
	cfg, diags := loadGathererConfig(parser, *basedirFlag, *path)
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	log := hclog.New(&hclog.LoggerOptions{
		Name: "gatherer", Output: stderr, Level: hclog.LevelFromString(cfg.LogLevel),
		JSONFormat: cfg.LogFormat == "json",
	})
	if n, err := gatherer.RaiseFileLimit(); err != nil {
		log.Warn("cannot raise the open file limit", "error", err)
	} else if n > 0 {
		log.Debug("open file limit", "limit", n)
	}
	// Relative paths in output blocks (the munin snapshot) are relative to
	// the base directory, as in Tahoe's gatherer.
	if err := prepareGathererBasedir(cfg.Basedir, *create, log); err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	if err := os.Chdir(cfg.Basedir); err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	// Orphans of the output plugins are killed while the gatherer runs
	// and swept after it has stopped them.
	defer reaper.Start(ctx, log)()
	defer tuneGathererGC(os.Getenv)()
	outs, diags := fanout.LoadOutputs(ctx, cfg, supervisor.Options{Logger: log, Stdout: stdout, Builtins: builtin.Plugins(),
		Env: supervisor.TuningEnv(os.Environ(), outputTuning)})
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
		fanout.StopOutputs(stopCtx, outs)
		cancel()
		fmt.Fprintf(stderr, "statsherd gatherer: %v\n", err)
		return 1
	}
	// The furl holds the secret: printed only to a terminal. Elsewhere
	// (the journal, a container's log, a file) stdout gets the path of the
	// furl's 0600 file.
	furlFile := filepath.Join(cfg.Basedir, basedir.FurlFile)
	switch {
	case journalStream(stdout):
		log.Info("the furl (it holds the secret) is in the base directory, not printed: stdout is the journal", "file", furlFile)
	case isTerminal(stdout):
		fmt.Fprintln(stdout, g.Furl().String())
	default:
		log.Info("the furl (it holds the secret) is in the base directory, not printed: stdout is not a terminal", "file", furlFile)
		fmt.Fprintln(stdout, furlFile)
	}
	defer reloadOnHangup(ctx, g, log)()
	// Once started, the gatherer drops the pages of this executable it
	// mapped while starting (see trim); those a round uses come back, and
	// are dropped again 2 s after each round (a few hundred page faults
	// the next round; its heap is left to the collector, as two more
	// collections of a large fleet's heap would cost a round's CPU).
	trim.NewDebounced(trimQuiet, log).Kick()
	defer gctune.AfterBurst(roundQuiet, roundBurst, func() { trim.Executable() })()
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
func runCreateGatherer(_ context.Context, c *cmdline) int {
	fs, stdout, stderr := c.fs, c.stdout, c.stderr
	port := fs.Int("port", 0, "TCP port to listen on (default: a free port, remembered in portnum)")
	location := fs.String("location", "", "comma-separated location hints for the furl (default: this machine's addresses and 127.0.0.1)")
	if code, done := c.parse(); done {
		return code
	}
	dir := c.arg(0)
	if *port < 0 || *port > 65535 {
		return c.usageError("-port %d is not a port number", *port)
	}
	var hints []string
	if *location != "" {
		hints = strings.Split(*location, ",")
	}
	if owner, other := otherOwner(dir); other {
		fmt.Fprintf(stderr, "statsherd create-gatherer: %s belongs to user %s, who runs the gatherer: run this as that user (runuser -u %s -- statsherd create-gatherer %s), since a key and secret made by this user would be unreadable to it\n", dir, owner, owner, dir)
		return 1
	}
	f, err := basedir.Create(dir, basedir.CreateOptions{Port: *port, Location: hints})
	if err != nil {
		fmt.Fprintf(stderr, "statsherd create-gatherer: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "created gatherer in %s; give hosts its stats_gatherer.furl; run it with: statsherd gatherer -basedir %s\n", dir, dir)
	fmt.Fprintln(stdout, f.String())
	return 0
}

// prepareGathererBasedir refuses a base directory create-gatherer never
// made, or with create makes its identity, saying so.
func prepareGathererBasedir(dir string, create bool, log hclog.Logger) error {
	if !create {
		return basedir.Check(dir)
	}
	if basedir.Check(dir) != nil {
		if owner, other := otherOwner(dir); other {
			return fmt.Errorf("%s belongs to user %s: make the gatherer's identity as that user (runuser -u %s -- statsherd gatherer -create -basedir %s), since a key and secret made by this user would be unreadable to it", dir, owner, owner, dir)
		}
	}
	made, err := basedir.Init(dir)
	if made {
		log.Warn("made a new gatherer identity (-create): give every host the new stats_gatherer.furl", "basedir", dir)
	}
	return err
}

// reloadOnHangup reloads the gatherer on SIGHUP (systemctl reload): the
// allowlist is reread and nodes taken off it are disconnected; gatherer.hcl
// takes a restart. It returns the function that stops listening.
func reloadOnHangup(ctx context.Context, g *gatherer.Gatherer, log hclog.Logger) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: reloading")
				g.Reload() // it logs what it did
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// journalStream says whether w is the systemd journal's stream, which
// systemd names in JOURNAL_STREAM ("DEVICE:INODE") for a service whose
// stdout or stderr it is.
// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func journalStream(w io.Writer) bool {
	f, ok := w.(*os.File)
	env := os.Getenv("JOURNAL_STREAM")
	if !ok || env == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return env == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
