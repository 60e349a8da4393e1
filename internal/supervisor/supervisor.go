package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

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

// Plugin is one supervised plugin process.
type Plugin struct {
	spec Spec
	log  hclog.Logger

	mu         sync.Mutex // serializes calls and guards the fields below
	client     *plugin.Client
	pid        int // the plugin process, leader of its process group
	raw        any // the dispensed sdk.Producer or sdk.Output
	info       sdk.Info
	described  bool
	cfg        sdk.Config
	configured bool
	failures   int // consecutive start failures, crashes or hangs
	stopped    bool
	stderr     *tail

	stateMu sync.Mutex
	state   State
}

// New returns a supervised plugin; nothing runs until Start.
func New(spec Spec) (*Plugin, error) {
	if !kindOK(spec.Kind) {
		return nil, fmt.Errorf("unknown plugin kind %q", spec.Kind)
	}
	if spec.Path == "" {
		return nil, fmt.Errorf("%s %q: no plugin executable", spec.Kind, spec.Name)
	}
	spec.defaults()
	return &Plugin{
		spec:  spec,
		log:   spec.Logger,
		state: State{Kind: spec.Kind, Name: spec.Name},
	}, nil
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

// Kind is sdk.KindProducer or sdk.KindOutput.
func (p *Plugin) Kind() string { return p.spec.Kind }

// Start starts the plugin process if it is not running and returns what the
// plugin says of itself. A start failure is returned as is (not subject to
// backoff): a binary that is not a plugin, a wrong protocol version, a
// checksum mismatch.
func (p *Plugin) Start(ctx context.Context) (sdk.Info, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.launch(ctx); err != nil {
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
	p.cfg, p.configured = cfg, true
	if err := p.ensureRunning(ctx); err != nil {
		return err
	}
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

// Stop closes the plugin (Close, under ctx) and ends its process. No call
// may follow.
func (p *Plugin) Stop(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.client == nil {
		return
	}
	ctx, cancel := p.deadline(ctx)
	defer cancel()
	var err error
	switch raw := p.raw.(type) {
	case sdk.Producer:
		err = raw.Close(ctx)
	case sdk.Output:
		err = raw.Close(ctx)
	}
	if err != nil {
		p.log.Warn("closing plugin", "error", err)
	}
	if p.spec.Stdout != nil {
		// What the plugin printed last (an output flushes in Close) is
		// still on its way through go-plugin's stdio stream, which has no
		// flush: give it a moment before the process goes.
		time.Sleep(stdoutDrain)
	}
	endProcess(p.client, p.pid, p.log)
	p.client, p.raw, p.pid = nil, nil, 0
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
			forgetChild(pid)
		}
	case <-time.After(10 * time.Second):
		log.Error("plugin process still not gone 10s after SIGKILL", "pid", pid)
	}
}

// State returns a snapshot of the plugin's health.
func (p *Plugin) State() State {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.state
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

// call runs f on the running plugin under a deadline, restarting the plugin
// first if it is down and its backoff has passed.
func (p *Plugin) call(ctx context.Context, f func(context.Context, any) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return fmt.Errorf("%s %s: stopped", p.spec.Kind, p.spec.Name)
	}
	if err := p.ensureRunning(ctx); err != nil {
		p.setState(func(s *State) { s.Calls++; s.Failures++ })
		return err
	}
	cctx, cancel := p.deadline(ctx)
	defer cancel()
	start := time.Now()
	err := f(cctx, p.raw)
	dur := time.Since(start)
	if err == nil {
		p.failures = 0
		p.setState(func(s *State) { s.Calls++; s.CallDuration = dur; s.LastError = "" })
		return nil
	}
	switch {
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The caller gave up (shutdown): not the plugin's fault.
	case cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		err = fmt.Errorf("%s %s did not answer within %v; killing it: %w", p.spec.Kind, p.spec.Name, dur.Round(time.Millisecond), err)
		p.fail(err)
	case p.client.Exited() || isUnavailable(err):
		p.waitExit(500 * time.Millisecond) // so its last words on stderr are read
		err = fmt.Errorf("%s %s crashed: %w%s", p.spec.Kind, p.spec.Name, err, p.stderr.summary())
		p.fail(err)
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

// waitExit waits up to d for the plugin process to be seen exited.
func (p *Plugin) waitExit(d time.Duration) {
	for end := time.Now().Add(d); !p.client.Exited() && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
}

func isUnavailable(err error) bool {
	var ue *sdk.UnavailableError
	return errors.As(err, &ue)
}

// fail marks the plugin down after a crash or hang, ends the process and
// its group in the background (a hung plugin takes up to killGrace to die;
// a crashed one may have left children) and schedules the restart.
func (p *Plugin) fail(err error) {
	p.failures++
	wait := p.backoff()
	next := time.Now().Add(wait)
	if c := p.client; c != nil {
		go endProcess(c, p.pid, p.log)
	}
	p.client, p.raw, p.pid = nil, nil, 0
	p.log.Error("plugin failed; restarting after backoff", "error", err, "restart_at", next.Format(time.RFC3339))
	p.setState(func(s *State) {
		s.Up = false
		s.NextStart = next
		s.Backoff = wait
		s.LastError = err.Error()
		s.LastErrorTime = time.Now()
	})
}

// backoff is the wait before the next start: MinBackoff doubled for every
// consecutive failure but the first, capped at MaxBackoff.
func (p *Plugin) backoff() time.Duration {
	d := p.spec.MinBackoff
	for i := 1; i < p.failures && d < p.spec.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.spec.MaxBackoff)
}

func (p *Plugin) ensureRunning(ctx context.Context) error {
	if p.client != nil && !p.client.Exited() {
		return nil
	}
	if p.client != nil { // exited between calls
		p.fail(fmt.Errorf("%s %s exited%s", p.spec.Kind, p.spec.Name, p.stderr.summary()))
	}
	st := p.State()
	if wait := time.Until(st.NextStart); wait > 0 {
		return fmt.Errorf("%s %s: %w, restarting in %v (last error: %s)", p.spec.Kind, p.spec.Name, ErrDown, wait.Round(time.Millisecond), st.LastError)
	}
	if err := p.launch(ctx); err != nil {
		p.fail(err)
		return err
	}
	if p.configured {
		cctx, cancel := p.deadline(ctx)
		defer cancel()
		if err := p.configure(cctx); err != nil {
			err = fmt.Errorf("configuring %s %s after restart: %w", p.spec.Kind, p.spec.Name, err)
			p.fail(err)
			return err
		}
	}
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

// launch starts a fresh process and client, and asks the plugin to describe
// itself.
func (p *Plugin) launch(ctx context.Context) error {
	if p.client != nil && !p.client.Exited() {
		return nil
	}
	name := fmt.Sprintf("%s %s (%s)", p.spec.Kind, p.spec.Name, p.spec.Path)
	if len(p.spec.SHA256) > 0 {
		if err := checkSum(p.spec.Path, p.spec.SHA256); err != nil {
			return fmt.Errorf("refusing to start %s: %w", name, err)
		}
	}
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = append(os.Environ(),
		sdk.EnvSelect+"="+p.spec.Kind+"/"+p.spec.Name,
		sdk.EnvLogLevel+"="+p.log.GetLevel().String(),
		envMarker+"="+strconv.Itoa(os.Getpid()))
	cmd.Env = append(cmd.Env, p.spec.Env...)
	setProcAttr(cmd)
	p.stderr = newTail(16)
	var stdout io.Writer = stdoutLogger{p.log}
	if p.spec.Stdout != nil {
		stdout = p.spec.Stdout
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sdk.PluginSets(nil, nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Managed:          true,
		StartTimeout:     p.spec.StartTimeout,
		Logger:           p.log,
		Stderr:           p.stderr,
		SyncStderr:       p.stderr,
		SyncStdout:       stdout,
		GRPCDialOptions:  sdk.GRPCDialOptions(),
	})
	// The reaper must not take the process for an orphan before its pid
	// is recorded.
	children.launching.RLock()
	rpc, err := client.Client()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
		recordChild(pid)
	}
	children.launching.RUnlock()
	if err != nil {
		// A plugin that hung before its handshake may have started
		// children: end its whole group.
		endProcess(client, pid, p.log)
		return fmt.Errorf("starting %s: %w%s", name, explainStart(err), p.stderr.summary())
	}
	raw, err := rpc.Dispense(p.spec.Kind)
	if err != nil {
		endProcess(client, pid, p.log)
		return fmt.Errorf("starting %s: %w", name, err)
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
		endProcess(client, pid, p.log)
		return fmt.Errorf("starting %s: describing it: %w%s", name, err, p.stderr.summary())
	}
	p.client, p.pid, p.raw, p.info, p.described = client, pid, raw, info, true
	p.setState(func(s *State) {
		s.Up = true
		s.Starts++
		if s.Starts > 1 {
			s.Restarts++
		}
		s.NextStart = time.Time{}
	})
	p.log.Debug("plugin started", "path", p.spec.Path, "version", info.Version)
	return nil
}
