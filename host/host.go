package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/host/statsd"
	"github.com/statsherd/statsherd/internal/durable"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/internal/supervisor"
	"github.com/statsherd/statsherd/internal/trim"
	"github.com/statsherd/statsherd/sdk"
)

// Options are the parts of a host that do not come from its HCL file.
type Options struct {
	// Logger is the host's logger; default none.
	Logger hclog.Logger
	// Self is the statsherd executable serving built-in producers; ""
	// means this executable.
	Self string
	// Builtins are the producers Self serves (cli passes its list; see
	// supervisor.Options.Builtins).
	Builtins sdk.Plugins
	// Identity is the node's key: the gatherer connection authenticates
	// with it, and its ID is shown on the status page. nil for a host
	// that only collects (statsherd host --once).
	Identity *identity.Identity
	// PluginMinBackoff and PluginMaxBackoff bound plugin restart backoff;
	// zero means the supervisor's defaults.
	PluginMinBackoff, PluginMaxBackoff time.Duration
}

// Host is one node's host daemon.
type Host struct {
	log   hclog.Logger
	opts  Options
	born  time.Time
	store *statsd.Store
	// base is the host's lifetime: every collect call runs under it.
	base       context.Context
	cancelBase context.CancelFunc

	reloadMu sync.Mutex // serializes reloads

	mu        sync.Mutex // guards the fields below
	cfg       *config.Host
	producers []*producer
	// shared is the one process serving every built-in producer.
	shared *supervisor.Pool
	// trim drops the executable's pages once start-up, a reload or a poll
	// is over.
	trim   *trim.Debounced
	statsd *statsd.Server
	// statsdDown is why statsd is not listening though configured (its
	// port taken: retried), "" otherwise.
	statsdDown string
	reg        *registry
	http       *http.Server
	statusURL  string
	gatherer   gathererLink
	logged     map[conflict]bool
	shed       shedLog
	polls      int64
	lastPoll   time.Duration
	// page keeps the last hour of polls for the status page.
	page    hostPage
	started bool     // Start was called
	lock    *os.File // the basedir's lock, held from Start to Close
	closed  bool
	wg      sync.WaitGroup
}

// New starts the producers of cfg and returns the host; nothing listens
// until Start. A producer that cannot start, or whose block does not match
// its plugin's schema, is a diagnostic, and nothing is left running.
func New(ctx context.Context, cfg *config.Host, opts Options) (*Host, hcl.Diagnostics) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &Host{
		log:        opts.Logger,
		opts:       opts,
		born:       time.Now(),
		store:      statsd.NewStore(cfg.Reporting.StatsdMaxNames, cfg.Reporting.StatsdExpiry),
		base:       base,
		cancelBase: cancel,
		cfg:        cfg,
		logged:     map[conflict]bool{},
	}
	shared, err := supervisor.NewShared(sdk.KindProducer, supervisor.SharedOptions{
		Self:       opts.Self,
		Builtins:   opts.Builtins,
		Logger:     h.log.Named("producers"),
		Env:        sharedEnv(os.Environ()),
		TimerSlack: sharedTimerSlack,
		MinBackoff: opts.PluginMinBackoff,
		MaxBackoff: opts.PluginMaxBackoff,
	})
	if err != nil {
		cancel()
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot run the built-in producers", Detail: err.Error()}}
	}
	h.shared = shared
	h.trim = trim.NewPolled(trimQuiet, h.log)
	ps, diags := h.loadProducers(ctx, cfg.Producers, cfg.PollTimeout)
	if diags.HasErrors() {
		cancel()
		return nil, diags
	}
	h.producers = ps
	return h, diags
}

// Config is the configuration the host runs on.
func (h *Host) Config() *config.Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg
}

// Start creates the basedir and opens the reporting API (statsd listener,
// register socket) and the status page, as configured. It writes the
// addresses it listens on to statsd.addr and status.url in the basedir.
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	cfg := h.cfg
	h.started = true
	if err := os.MkdirAll(cfg.Basedir, 0o700); err != nil {
		return fmt.Errorf("creating basedir: %w", err)
	}
	lock, err := lockBasedir(cfg.Basedir)
	if err != nil {
		return err
	}
	h.lock = lock
	if cfg.Reporting.StatsdListen != "" {
		s, err := listenStatsd(ctx, cfg.Reporting.StatsdListen, h.store, h.log.Named("statsd"))
		switch {
		case errors.Is(err, syscall.EADDRINUSE):
			// Another program's port (8125 is also Telegraf's, Datadog's
			// and statsd's): the host runs without statsd, says so once,
			// and takes the port when it is free.
			h.statsdDown = err.Error()
			every := h.statsdRetry()
			h.log.Warn("running without statsd until its port is free; retrying", "error", err, "every", every)
			h.wg.Go(func() { h.retryStatsd(cfg.Reporting.StatsdListen, cfg.Basedir, every) })
		case err != nil:
			return err
		default:
			if err := h.serveStatsd(s, cfg.Basedir); err != nil {
				return err
			}
		}
	}
	if cfg.Reporting.Socket != "" {
		r, err := listenRegister(cfg.Reporting.Socket, h.base, h.log.Named("register"), h.configured, h.pollTimeout)
		if err != nil {
			return err
		}
		h.reg = r
		go r.serve()
		h.log.Info("register socket ready", "path", cfg.Reporting.Socket)
	}
	if cfg.Status.Listen != "" {
		url, err := h.startStatus(ctx, cfg.Status.Listen, cfg.Status.Pprof)
		if err != nil {
			return err
		}
		if err := writeAddrFile(filepath.Join(cfg.Basedir, "status.url"), url); err != nil {
			return err
		}
		h.log.Info("status page ready", "url", url+"statistics")
	}
	if err := h.startGatherer(cfg); err != nil {
		return err
	}
	h.trim.Kick()
	return nil
}

// serveStatsd serves the statsd listener s. The caller holds h.mu.
// listenStatsd starts the statsd listener (host/statsd) on addr.
func listenStatsd(ctx context.Context, addr string, st *statsd.Store, log hclog.Logger) (*statsd.Server, error) {
	s, err := statsd.Listen(ctx, addr, st, log)
	if err != nil {
		return nil, fmt.Errorf("statsd listener: %w%s", err, inUseHint(err, "reporting { statsd }"))
	}
	return s, nil
}

func (h *Host) serveStatsd(s *statsd.Server, basedir string) error {
	h.statsd = s
	h.statsdDown = ""
	go s.Serve()
	if err := writeAddrFile(filepath.Join(basedir, "statsd.addr"), s.Addr()); err != nil {
		return err
	}
	h.log.Info("statsd listener ready", "addr", s.Addr(), "receive_buffer_bytes", s.ReceiveBuffer())
	return nil
}

// statsdRetry is how often a host whose statsd port was taken tries it
// again. The caller holds h.mu.
func (h *Host) statsdRetry() time.Duration {
	if r := h.cfg.Reporting.StatsdRetry; r > 0 {
		return r
	}
	return config.DefaultStatsdRetry
}

// retryStatsd listens on addr once it is free, trying every so often,
// until the host closes.
func (h *Host) retryStatsd(addr, basedir string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.base.Done():
			return
		case <-t.C:
		}
		s, err := listenStatsd(h.base, addr, h.store, h.log.Named("statsd"))
		if err != nil {
			h.mu.Lock()
			h.statsdDown = err.Error()
			h.mu.Unlock()
			continue
		}
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			s.Close()
			return
		}
		err = h.serveStatsd(s, basedir)
		h.mu.Unlock()
		if err != nil {
			h.log.Error("statsd listener", "error", err)
		}
		return
	}
}

func writeAddrFile(path, s string) error {
	return durable.WriteFile(path, []byte(s+"\n"), 0o600)
}

// configured reports whether name is a configured producer's.
func (h *Host) configured(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.producers {
		if p.block.Name == name {
			return true
		}
	}
	return false
}

func (h *Host) pollTimeout() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg.PollTimeout
}

// Poll collects every source concurrently, each under its own timeout, and
// returns the merged answer. It returns within the poll timeout, or ctx's
// deadline if earlier: a source that has not answered by then is missing
// from this answer, and its failure shows in the host's own stats.
//
// A poll ends the statsd window: the summaries of samples and sets it
// reports are of the lines received since the previous Poll, and the next
// window starts empty. This is the gatherer's poll.
func (h *Host) Poll(ctx context.Context) sdk.Stats { return h.poll(ctx, "", true, link.Limits{}) }

// PollAs is Poll for a poller with a statsd window of its own: a second
// gatherer (HA) polling as "gatherer-2" gets the summaries of all the
// samples received since its own previous poll, as the first does through
// Poll, instead of those since either's. Its first answer has empty
// summaries; a poller silent for the statsd expiry is forgotten; past 8
// named pollers, others read the default window without ending it.
func (h *Host) PollAs(ctx context.Context, poller string) sdk.Stats {
	return h.poll(ctx, poller, true, link.Limits{})
}

// PollWithin is PollAs ("" for Poll) for a gatherer whose quotas on an
// answer are lim: the stats beyond them are shed (shed).
func (h *Host) PollWithin(ctx context.Context, poller string, lim link.Limits) sdk.Stats {
	return h.poll(ctx, poller, true, lim)
}

// Peek is Poll without ending the statsd window: its summaries are of the
// lines received since the last Poll, which still counts them. This is
// the status page's poll, so that reading it takes nothing from the
// gatherer.
func (h *Host) Peek(ctx context.Context) sdk.Stats { return h.poll(ctx, "", false, link.Limits{}) }

// poll is Poll, PollAs or Peek; stats beyond lim (if set) are shed.
func (h *Host) poll(ctx context.Context, poller string, endWindow bool, lim link.Limits) sdk.Stats {
	start := time.Now()
	// The pages of the executable a poll maps (TLS, gRPC, protobuf, the
	// runtime's stack tables) are dropped again once it is over: a
	// gatherer's poll right after its answer is written, if it came long
	// after the previous one (trim.Debounced.Polled), a status page's as
	// start-up's are.
	if endWindow {
		defer h.trim.Polled()
	} else {
		defer h.trim.Kick()
	}
	h.mu.Lock()
	timeout := h.cfg.PollTimeout
	producers := h.producers
	reg, statsd := h.reg, h.statsd
	statsdWanted := h.cfg.Reporting.StatsdListen != ""
	h.mu.Unlock()
	var registered []*registered
	if reg != nil {
		registered = reg.producers()
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	parts := make([]part, 1+len(producers)+len(registered)+1)
	var wg sync.WaitGroup
	for i, p := range producers {
		wg.Go(func() {
			st, _ := p.col.collect(ctx)
			parts[1+i] = part{source: "producer " + p.block.Name, stats: st}
		})
	}
	for i, r := range registered {
		wg.Go(func() {
			st, _ := r.col.collect(ctx)
			parts[1+len(producers)+i] = part{source: "registered producer " + r.name, stats: st}
		})
	}
	nodeStats := sdk.NewStats()
	h.store.AddToFor(nodeStats, poller, endWindow)
	parts[len(parts)-1] = part{source: "statsd", stats: nodeStats}
	wg.Wait()

	own := sdk.NewStats()
	for _, p := range producers {
		p.plugin.State().AddTo(own, "statsherd.producer."+p.block.Name)
	}
	for _, r := range registered {
		r.stateSnapshot().AddTo(own, "statsherd.producer."+r.name)
	}
	own.Stats["statsherd.producers"] = sdk.Int(int64(len(producers)))
	own.Stats["statsherd.registered_producers"] = sdk.Int(int64(len(registered)))
	own.Stats["statsherd.uptime_seconds"] = sdk.Float(time.Since(h.born).Seconds())
	if statsd != nil {
		statsd.AddTo(own)
	}
	if statsdWanted {
		up := int64(0)
		if statsd != nil {
			up = 1
		}
		own.Stats["statsherd.statsd.up"] = sdk.Int(up)
	}
	h.gathererStats(own)
	h.mu.Lock()
	h.polls++
	own.Counters["statsherd.polls"] = h.polls
	own.Stats["statsherd.poll_seconds"] = sdk.Float(h.lastPoll.Seconds())
	h.mu.Unlock()
	own.Stats["statsherd.name_conflicts"] = sdk.Int(0)
	parts[0] = part{source: "host", stats: own}

	out, conflicts := merge(parts)
	out.Stats["statsherd.name_conflicts"] = sdk.Int(int64(len(conflicts)))
	h.mu.Lock()
	for _, c := range conflicts {
		if !h.logged[c] {
			h.logged[c] = true
			h.log.Warn("two sources report the same name; keeping the first (logged once)",
				"name", c.Name, "kind", string(c.Kind), "kept", c.Winner, "dropped", c.Loser)
		}
	}
	h.lastPoll = time.Since(start)
	took := h.lastPoll
	h.mu.Unlock()
	h.shedTo(out, parts, lim)
	if endWindow {
		h.recordPoll(start, took, own, h.allStates())
	}
	return out
}

// Close stops everything the host runs: listeners, the gatherer link and
// every plugin.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	statsd, reg, srv, link := h.statsd, h.reg, h.http, h.gatherer
	producers := h.producers
	basedir := h.cfg.Basedir
	h.mu.Unlock()

	var errs []error
	link.stop()
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping status page: %w", err))
		}
		_ = os.Remove(filepath.Join(basedir, "status.url"))
	}
	if statsd != nil {
		if err := statsd.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stopping statsd listener: %w", err))
		}
		_ = os.Remove(filepath.Join(basedir, "statsd.addr"))
	}
	if reg != nil {
		if err := reg.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing register socket: %w", err))
		}
	}
	h.cancelBase()
	stopProducers(ctx, producers)
	h.wg.Wait()
	h.mu.Lock()
	if h.lock != nil {
		h.lock.Close() // releases the flock
		h.lock = nil
	}
	h.mu.Unlock()
	return errors.Join(errs...)
}
