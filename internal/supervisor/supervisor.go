package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/internal/reaper"
	"github.com/statsherd/statsherd/sdk"
)

// State is a plugin's health, for the daemon's own stats and status page.
type State struct {
	Kind, Name string
	// Up is true while the plugin process runs and answers.
	Up bool
	// Starts counts process starts; Restarts the starts after the first.
	Starts, Restarts int64
	// Calls and Failures count calls (Collect or Write) and failed ones.
	Calls, Failures int64
	// LastError is the last error, "" if the last call succeeded.
	LastError     string
	LastErrorTime time.Time
	// CallDuration is how long the last call took.
	CallDuration time.Duration
	// NextStart is when a down plugin will be started again, and Backoff
	// the wait it was given after its last failure (it doubles with each
	// consecutive failure, up to the spec's MaxBackoff).
	NextStart time.Time
	Backoff   time.Duration
}

// stdoutDrain is how long Stop lets a plugin's last standard output reach
// the daemon before ending the process.
const stdoutDrain = 250 * time.Millisecond

// killGrace is how long a plugin being ended may take to exit on its own
// (go-plugin's graceful shutdown) before its process group is killed.
const killGrace = 2 * time.Second

// ErrDown is returned (wrapped) by calls made while a crashed or hung plugin
// waits out its restart backoff.
var ErrDown = errors.New("plugin is down")

// Plugin is one supervised plugin: a process of its own (a third-party
// plugin), or an instance in a process shared with other built-ins (see
// Pool). Its calls, deadlines, config and state are its own either way.
type Plugin struct {
	spec Spec
	log  hclog.Logger
	pool *Pool
	key  string // dispenses this plugin from the pool's client

	mu         sync.Mutex // serializes calls and guards the fields below
	raw        any        // the dispensed sdk.Producer or sdk.Output
	gen        uint64     // the pool process raw lives in
	info       sdk.Info
	cfg        sdk.Config
	configured bool
	stopped    bool

	stateMu sync.Mutex
	state   State
	// attached is the pool process the plugin last attached to (under
	// stateMu, for State).
	attached uint64
}

// New returns a supervised plugin; nothing runs until Start. With
// spec.Pool set it joins that shared process, else it has one of its own.
func New(spec Spec) (*Plugin, error) {
	if !kindOK(spec.Kind) {
		return nil, fmt.Errorf("unknown plugin kind %q", spec.Kind)
	}
	if spec.Path == "" && spec.Pool == nil {
		return nil, fmt.Errorf("%s %q: no plugin executable", spec.Kind, spec.Name)
	}
	spec.defaults()
	pool := spec.Pool
	if pool == nil {
		pool = newPool(spec)
	} else if pool.kind != spec.Kind {
		return nil, fmt.Errorf("%s %q cannot join the shared process of %ss", spec.Kind, spec.Name, pool.kind)
	}
	pool.join()
	return &Plugin{
		spec:  spec,
		log:   spec.Logger,
		pool:  pool,
		key:   pool.key(spec.Name),
		state: State{Kind: spec.Kind, Name: spec.Name},
	}, nil
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

// Kind is sdk.KindProducer or sdk.KindOutput.
func (p *Plugin) Kind() string { return p.spec.Kind }

// Pid is the pid of the process serving the plugin, 0 if none runs.
func (p *Plugin) Pid() int { return p.pool.Pid() }

// Start starts the plugin's process if it is not running and returns what
// the plugin says of itself. A start failure is returned as is (not subject
// to backoff): a binary that is not a plugin, a wrong protocol version, a
// checksum mismatch.
func (p *Plugin) Start(ctx context.Context) (sdk.Info, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.attach(ctx, true); err != nil {
		return sdk.Info{}, err
	}
	return p.info, nil
}

// Info is what the plugin said of itself at its last start.
func (p *Plugin) Info() sdk.Info {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

// Configure hands the plugin its decoded config block. The config is kept
// and handed again after every restart.
func (p *Plugin) Configure(ctx context.Context, cfg sdk.Config) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.attach(ctx, false); err != nil {
		return err
	}
	p.cfg, p.configured = cfg, true
	ctx, cancel := p.deadline(ctx)
	defer cancel()
	if err := p.configure(ctx); err != nil {
		return fmt.Errorf("configuring %s %s: %w", p.spec.Kind, p.spec.Name, err)
	}
	return nil
}

// Collect asks a producer for its stats. Partial stats may come with an
// error.
func (p *Plugin) Collect(ctx context.Context) (sdk.Stats, error) {
	var st sdk.Stats
	err := p.call(ctx, func(ctx context.Context, raw any) error {
		prod, ok := raw.(sdk.Producer)
		if !ok {
			return fmt.Errorf("%s %s is not a producer", p.spec.Kind, p.spec.Name)
		}
		var err error
		st, err = prod.Collect(ctx)
		return err
	})
	return st, err
}

// Write hands an output one round.
func (p *Plugin) Write(ctx context.Context, r sdk.Round) error {
	return p.call(ctx, func(ctx context.Context, raw any) error {
		out, ok := raw.(sdk.Output)
		if !ok {
			return fmt.Errorf("%s %s is not an output", p.spec.Kind, p.spec.Name)
		}
		return out.Write(ctx, r)
	})
}

// Stop closes the plugin (Close, under ctx) and leaves its process: a
// process of its own ends, a shared one ends when its last plugin stops.
// No call may follow.
func (p *Plugin) Stop(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if up, _, _ := p.pool.status(p.gen); up && p.raw != nil {
		ctx, cancel := p.deadline(ctx)
		var err error
		switch raw := p.raw.(type) {
		case sdk.Producer:
			err = raw.Close(ctx)
		case sdk.Output:
			err = raw.Close(ctx)
		}
		cancel()
		if err != nil {
			p.log.Warn("closing plugin", "error", err)
		}
	}
	p.raw = nil
	p.pool.leave()
	p.setState(func(s *State) { s.Up = false })
}

// endProcess ends a plugin process and everything it started in its
// process group: go-plugin's Kill (a graceful shutdown, then a kill), but
// for at most killGrace, since Kill waits on the shutdown call without a
// deadline and a frozen (SIGSTOP) plugin never answers it; then SIGKILL to
// the whole group, always, so the plugin's own children go too. It returns
// once go-plugin has waited for the process, or 10 s after the SIGKILL.
func endProcess(c *plugin.Client, pid int, log hclog.Logger) {
	done := make(chan struct{})
	go func() { c.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(killGrace):
		log.Warn("plugin did not exit within the grace period; killing its process group", "pid", pid, "grace", killGrace)
	}
	killGroup(pid)
	select {
	case <-done:
		if pid > 0 {
			reaper.Waited(pid)
		}
	case <-time.After(10 * time.Second):
		log.Error("plugin process still not gone 10s after SIGKILL", "pid", pid)
	}
}

// State returns a snapshot of the plugin's health. A plugin whose process
// ended (its own failure, or another's in a shared process) is down, and
// shows when its process will be started again.
func (p *Plugin) State() State {
	p.stateMu.Lock()
	s, gen := p.state, p.attached
	p.stateMu.Unlock()
	up, next, backoff := p.pool.status(gen)
	s.Up = s.Up && up
	if !up {
		s.NextStart, s.Backoff = next, backoff
	}
	return s
}

func (p *Plugin) setState(f func(*State)) {
	p.stateMu.Lock()
	f(&p.state)
	p.stateMu.Unlock()
}

func (p *Plugin) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= p.spec.Timeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.spec.Timeout)
}

// call runs f on the running plugin under a deadline, restarting the
// plugin's process first if it is down and its backoff has passed.
func (p *Plugin) call(ctx context.Context, f func(context.Context, any) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return fmt.Errorf("%s %s: stopped", p.spec.Kind, p.spec.Name)
	}
	if err := p.attach(ctx, false); err != nil {
		p.setState(func(s *State) {
			s.Calls++
			s.Failures++
			s.LastError = err.Error()
			s.LastErrorTime = time.Now()
		})
		return err
	}
	cctx, cancel := p.deadline(ctx)
	defer cancel()
	start := time.Now()
	err := f(cctx, p.raw)
	dur := time.Since(start)
	if err == nil {
		p.pool.ok()
		p.setState(func(s *State) { s.Calls++; s.CallDuration = dur; s.LastError = "" })
		return nil
	}
	gen := p.gen
	switch {
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The caller gave up (shutdown): not the plugin's fault.
	case cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%s %s did not answer within %v; killing %s: %w", p.spec.Kind, p.spec.Name, dur.Round(time.Millisecond), p.its(), err)
		if !p.pool.fail(gen, err) {
			err = p.alreadyEnded(err)
		}
	case isUnavailable(err) || p.pool.exited(gen, 0):
		p.pool.exited(gen, 500*time.Millisecond) // so its last words on stderr are read
		err = fmt.Errorf("%s %s crashed%s: %w%s", p.spec.Kind, p.spec.Name, p.in(), err, p.pool.stderrSummary())
		if !p.pool.fail(gen, err) {
			err = p.alreadyEnded(err)
		}
	}
	p.setState(func(s *State) {
		s.Calls++
		s.Failures++
		s.CallDuration = dur
		s.LastError = err.Error()
		s.LastErrorTime = time.Now()
	})
	return err
}

// its names the process serving the plugin, for messages.
func (p *Plugin) its() string {
	if p.pool.shared {
		return "its process, shared with the other built-in " + p.spec.Kind + "s"
	}
	return "it"
}

// in says where the plugin runs if it shares its process, for messages.
func (p *Plugin) in() string {
	if p.pool.shared {
		return " (in the shared process of the built-in " + p.spec.Kind + "s)"
	}
	return ""
}

// alreadyEnded explains a failure seen after another plugin's failure
// ended their shared process.
func (p *Plugin) alreadyEnded(err error) error {
	if !p.pool.shared {
		return err
	}
	return fmt.Errorf("%w (the shared process had been ended: %s)", err, p.pool.lastError())
}

func isUnavailable(err error) bool {
	var ue *sdk.UnavailableError
	return errors.As(err, &ue)
}

// attach makes sure the plugin has an instance in a running process: it
// starts the pool's process if none runs (start: at once; else once its
// backoff has passed), and in a process new to this plugin dispenses a
// fresh instance, asks it to describe itself and, if a config was given,
// configures it. A failure after the process started ends the process
// (unless start: then the caller stops the plugin).
func (p *Plugin) attach(ctx context.Context, start bool) error {
	rpc, gen, err := p.pool.get(ctx, start)
	if err != nil {
		if errors.Is(err, ErrDown) {
			return fmt.Errorf("%s %s: %w", p.spec.Kind, p.spec.Name, err)
		}
		return err
	}
	if p.raw != nil && p.gen == gen {
		return nil
	}
	p.raw = nil
	failed := func(err error) error {
		if !start {
			p.pool.fail(gen, err)
		}
		return err
	}
	name := fmt.Sprintf("%s %s (%s)", p.spec.Kind, p.spec.Name, p.spec.Path)
	raw, err := rpc.Dispense(p.key)
	if err != nil {
		return failed(fmt.Errorf("starting %s: %w", name, err))
	}
	cctx, cancel := p.deadline(ctx)
	defer cancel()
	var info sdk.Info
	switch r := raw.(type) {
	case sdk.Producer:
		info, err = r.Describe(cctx)
	case sdk.Output:
		info, err = r.Describe(cctx)
	}
	if err != nil {
		return failed(fmt.Errorf("starting %s: describing it: %w%s", name, err, p.pool.stderrSummary()))
	}
	p.raw, p.gen, p.info = raw, gen, info
	if p.configured {
		if err := p.configure(cctx); err != nil {
			p.raw = nil
			return failed(fmt.Errorf("configuring %s %s after restart: %w", p.spec.Kind, p.spec.Name, err))
		}
	}
	p.stateMu.Lock()
	p.attached = gen
	s := &p.state
	s.Up = true
	s.Starts++
	if s.Starts > 1 {
		s.Restarts++
	}
	s.NextStart = time.Time{}
	p.stateMu.Unlock()
	p.log.Debug("plugin started", "path", p.spec.Path, "version", info.Version)
	return nil
}

func (p *Plugin) configure(ctx context.Context) error {
	switch raw := p.raw.(type) {
	case sdk.Producer:
		return raw.Configure(ctx, p.cfg)
	case sdk.Output:
		return raw.Configure(ctx, p.cfg)
	}
	return nil
}
