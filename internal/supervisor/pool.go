package supervisor

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/internal/reaper"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// pluginLogLine is the longest line of a plugin's stderr that is parsed
// as a log entry of its level (see clientConfig).
const pluginLogLine = 8 << 10

// Pool is one plugin process and its restarts. A plugin with an executable
// of its own (a third-party plugin) has a pool to itself; the built-in
// plugins of one kind may share one (NewShared): one process, started by
// `statsherd plugin serve KIND`, serving each of them as an instance of its
// own, named in every call. The pool restarts its process with capped
// exponential backoff; every Plugin in it re-attaches (a fresh instance,
// described and configured again) at its next call.
type Pool struct {
	kind   string
	name   string // of the plugin, if not shared
	path   string
	args   []string
	sha256 []byte
	env    []string
	// shared: the process serves the plugins names, each Dispense of
	// daemon.SharedKey naming one; else it serves one, dispensed as kind.
	shared                 bool
	names                  []string
	startTimeout           time.Duration
	minBackoff, maxBackoff time.Duration
	log                    hclog.Logger
	stdout                 io.Writer
	slack                  time.Duration // the process's timer slack; 0: the daemon's

	mu      sync.Mutex // serializes starts and ends; guards the fields below
	client  *plugin.Client
	rpc     plugin.ClientProtocol
	pid     int
	stderr  *tail
	members int // Plugins that joined and have not stopped

	stMu      sync.Mutex // guards the fields below
	gen       uint64     // counts process starts: the current process's number
	up        bool       // process gen runs
	failures  int        // consecutive start failures, crashes or hangs
	nextStart time.Time
	backoff   time.Duration
	lastErr   string
}

// SharedOptions say how to run the shared process of a kind's built-ins.
type SharedOptions struct {
	// Self is the statsherd executable; "" means this executable.
	Self string
	// Builtins are the plugins Self serves (see Options.Builtins).
	Builtins sdk.Plugins
	// Logger receives the process's logs (each line names its plugin).
	Logger hclog.Logger
	// Env is added to the process's environment (memory settings).
	Env []string
	// StartTimeout, MinBackoff and MaxBackoff are as in Spec.
	StartTimeout, MinBackoff, MaxBackoff time.Duration
	// Stdout is as in Spec.
	Stdout io.Writer
	// TimerSlack, if set, is the process's timer slack (Linux's
	// PR_SET_TIMERSLACK; its threads inherit it): how late the kernel may
	// end its timed sleeps, so as to wake it once for several. 0 leaves
	// it the daemon's (50 µs by default). See withTimerSlack.
	TimerSlack time.Duration
}

// NewShared returns the pool of one process serving every built-in plugin
// of kind that joins it (Options.Shared); nothing runs until one does.
func NewShared(kind string, o SharedOptions) (*Pool, error) {
	if !kindOK(kind) {
		return nil, fmt.Errorf("unknown plugin kind %q", kind)
	}
	self := o.Self
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the statsherd executable: %w", err)
		}
		self = exe
	}
	s := Spec{Kind: kind, Name: kind + "s", Path: self, Args: []string{"plugin", "serve", kind},
		StartTimeout: o.StartTimeout, MinBackoff: o.MinBackoff, MaxBackoff: o.MaxBackoff,
		Logger: o.Logger, Env: o.Env, Stdout: o.Stdout}
	s.defaults()
	p := newPool(s)
	p.shared, p.names = true, builtinNames(o.Builtins, kind)
	p.slack = o.TimerSlack
	return p, nil
}

func newPool(s Spec) *Pool {
	return &Pool{kind: s.Kind, name: s.Name, path: s.Path, args: s.Args, sha256: s.SHA256, env: s.Env,
		startTimeout: s.StartTimeout, minBackoff: s.MinBackoff, maxBackoff: s.MaxBackoff,
		log: s.Logger, stdout: s.Stdout}
}

// Pid is the pid of the pool's process, 0 if none runs.
func (p *Pool) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil || p.client.Exited() {
		return 0
	}
	return p.pid
}

// key is the plugin-set key that dispenses plugin name.
func (p *Pool) key(name string) string {
	if p.shared {
		return daemon.SharedKey(p.kind, name)
	}
	return p.kind
}

// what names the process in messages.
func (p *Pool) what() string {
	if p.shared {
		return fmt.Sprintf("the shared process of the built-in %ss (%s %s)", p.kind, p.path, strings.Join(p.args, " "))
	}
	return fmt.Sprintf("%s (%s)", p.kind, p.path)
}

func (p *Pool) join() {
	p.mu.Lock()
	p.members++
	p.mu.Unlock()
}

// leave is a Plugin's Stop: the last one to leave ends the process.
func (p *Pool) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.members--
	if p.members > 0 || p.client == nil {
		return
	}
	if p.stdout != nil {
		// What the plugin printed last (an output flushes in Close) is
		// still on its way through go-plugin's stdio stream, which has no
		// flush: give it a moment before the process goes.
		time.Sleep(stdoutDrain)
	}
	endProcess(p.client, p.pid, p.log)
	p.client, p.rpc, p.pid = nil, nil, 0
	p.stMu.Lock()
	p.up = false
	p.stMu.Unlock()
}

// status says whether process gen runs, and if not when the next start is
// due and the backoff it was given.
func (p *Pool) status(gen uint64) (up bool, next time.Time, backoff time.Duration) {
	p.stMu.Lock()
	defer p.stMu.Unlock()
	return p.up && gen == p.gen, p.nextStart, p.backoff
}

// ok records a successful call: the consecutive failures start over.
func (p *Pool) ok() {
	p.stMu.Lock()
	p.failures = 0
	p.stMu.Unlock()
}

// get returns the running process's client and number, starting the
// process if none runs. With start false (a call), a process that failed
// is started again only once its backoff has passed (before that the error
// wraps ErrDown), and a failed start counts as a failure; with start true
// (Start, at load), it is started at once and a failure is only returned.
func (p *Pool) get(ctx context.Context, start bool) (plugin.ClientProtocol, uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client != nil && !p.client.Exited() {
		return p.rpc, p.currentGen(), nil
	}
	if p.client != nil { // exited between calls
		p.failLocked(p.currentGen(), fmt.Errorf("%s exited%s", p.what(), p.stderr.summary()))
	}
	if !start {
		p.stMu.Lock()
		wait, last := time.Until(p.nextStart), p.lastErr
		p.stMu.Unlock()
		if wait > 0 {
			return nil, 0, fmt.Errorf("%w, restarting in %v (last error: %s)", ErrDown, wait.Round(time.Millisecond), last)
		}
	}
	if err := p.launch(ctx); err != nil {
		if !start {
			p.schedule(err)
		}
		return nil, 0, err
	}
	return p.rpc, p.currentGen(), nil
}

func (p *Pool) currentGen() uint64 {
	p.stMu.Lock()
	defer p.stMu.Unlock()
	return p.gen
}

// fail ends process gen after a crash or hang and schedules the restart.
// It reports false, doing nothing, if gen is no longer the running process
// (another call's failure ended it already).
func (p *Pool) fail(gen uint64, err error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failLocked(gen, err)
}

// failLocked is fail with p.mu held. The process and its group are ended
// in the background (a hung plugin takes up to killGrace to die; a crashed
// one may have left children).
func (p *Pool) failLocked(gen uint64, err error) bool {
	p.stMu.Lock()
	running := gen == p.gen && p.up
	p.stMu.Unlock()
	if !running {
		return false
	}
	if c := p.client; c != nil {
		go endProcess(c, p.pid, p.log)
	}
	p.client, p.rpc, p.pid = nil, nil, 0
	p.schedule(err)
	return true
}

// schedule marks the process down after a failure (a crash, a hang, a
// failed start) and sets when the next start is due.
func (p *Pool) schedule(err error) {
	p.stMu.Lock()
	defer p.stMu.Unlock()
	p.failures++
	wait := backoff(p.minBackoff, p.maxBackoff, p.failures)
	p.nextStart, p.backoff, p.lastErr = time.Now().Add(wait), wait, err.Error()
	p.up = false
	p.log.Error("plugin failed; restarting after backoff", "error", err, "restart_at", p.nextStart.Format(time.RFC3339))
}

// lastError is the error that ended the last process.
func (p *Pool) lastError() string {
	p.stMu.Lock()
	defer p.stMu.Unlock()
	return p.lastErr
}

// exited waits up to d for process gen to be seen exited, and reports
// whether it has.
func (p *Pool) exited(gen uint64, d time.Duration) bool {
	p.mu.Lock()
	c := p.client
	p.mu.Unlock()
	if c == nil || p.currentGen() != gen {
		return true
	}
	for end := time.Now().Add(d); !c.Exited() && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	return c.Exited()
}

// stderrSummary is the last words of the running process on stderr.
func (p *Pool) stderrSummary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.summary()
}

// backoff is the wait before the next start: min doubled for every
// consecutive failure but the first, capped at max.
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// clientConfig is go-plugin's configuration of a client for one start
// of cmd.
func (p *Pool) clientConfig(cmd *exec.Cmd, sets map[int]plugin.PluginSet, tc *tls.Config, stderr *tail, stdout io.Writer) *plugin.ClientConfig {
	return &plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		VersionedPlugins: sets,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		TLSConfig:        tc,
		Managed:          true,
		StartTimeout:     p.startTimeout,
		Logger:           p.log,
		Stderr:           stderr,
		SyncStderr:       stderr,
		SyncStdout:       stdout,
		GRPCDialOptions:  daemon.GRPCDialOptionsFor(p.kind),
		// go-plugin reads the plugin's stderr, hclog's JSON lines, through
		// a buffer of 64 KiB by default, live in the daemon as long as the
		// plugin runs; a longer line is still written to Stderr, in
		// pieces, and re-logged raw at debug level.
		PluginLogBufferSize: pluginLogLine,
	}
}

// launch starts a fresh process and client (p.mu held).
func (p *Pool) launch(_ context.Context) error {
	name := p.what()
	if len(p.sha256) > 0 {
		if err := checkSum(p.path, p.sha256); err != nil {
			return fmt.Errorf("refusing to start %s: %w", name, err)
		}
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = os.Environ()
	if !p.shared {
		cmd.Env = append(cmd.Env, sdk.EnvSelect+"="+p.kind+"/"+p.name)
	}
	cmd.Env = append(cmd.Env,
		sdk.EnvLogLevel+"="+p.log.GetLevel().String(),
		reaper.Env())
	cmd.Env = append(cmd.Env, p.env...)
	setProcAttr(cmd)
	stderr := newTail(16)
	var stdout io.Writer = stdoutLogger{p.log}
	if p.stdout != nil {
		stdout = p.stdout
	}
	sets := daemon.PluginSets()
	if p.shared {
		sets = daemon.SharedPluginSets(p.kind, p.names)
	}
	// Mutual TLS with keys made here for this start, on P-256 (go-plugin's
	// AutoMTLS makes them on P-521, 0.5 MiB of heap in each process).
	mtls, err := daemon.NewPluginTLS()
	if err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	defer mtls.Close()
	cmd.Env = append(cmd.Env, mtls.Env...)
	cmd.ExtraFiles = []*os.File{mtls.File}
	client := plugin.NewClient(p.clientConfig(cmd, sets, mtls.Config, stderr, stdout))
	// The reaper must not take the process for an orphan before its pid
	// is recorded.
	var rpc plugin.ClientProtocol
	pid := 0
	err = reaper.Launch(func() (int, error) {
		var err error
		withTimerSlack(p.slack, func() { rpc, err = client.Client() })
		if cmd.Process != nil {
			pid = cmd.Process.Pid
		}
		return pid, err
	})
	if err != nil {
		// A plugin that hung before its handshake may have started
		// children: end its whole group.
		endProcess(client, pid, p.log)
		return fmt.Errorf("starting %s: %w%s", name, explainStart(err), stderr.summary())
	}
	p.client, p.rpc, p.pid, p.stderr = client, rpc, pid, stderr
	p.stMu.Lock()
	p.gen++
	p.up = true
	p.nextStart = time.Time{}
	p.stMu.Unlock()
	p.log.Debug("plugin process started", "path", p.path, "pid", pid)
	return nil
}
