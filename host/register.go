package host

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/supervisor"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// registeredKind is the State.Kind of a registered program.
const registeredKind = "registered"

// maxSocketPath is the longest unix socket path every system accepts
// (sun_path is 104 bytes on the BSDs, 108 on Linux, with a final NUL).
const maxSocketPath = 103

// helloTimeout bounds how long a new connection may take to say who it is.
const helloTimeout = 10 * time.Second

// Bounds on what node programs may make the host hold.
const (
	// maxHello bounds the hello line.
	maxHello = 64 << 10
	// maxAnswer bounds one answer to a poll: what the host may send on
	// to the gatherer in one answer.
	maxAnswer = wire.DefaultMaxMessageSize
	// maxRegistered bounds the programs registered at once.
	maxRegistered = 64
	// maxWaiting bounds the connections that have not yet said hello.
	maxWaiting = 16
)

// registry accepts node programs on the unix socket (Tahoe's
// register_producer) and keeps those connected.
type registry struct {
	log  hclog.Logger
	ln   *net.UnixListener
	path string
	base context.Context
	// taken reports whether a name belongs to a configured producer.
	taken   func(name string) bool
	timeout func() time.Duration

	// waiting counts connections before their hello.
	waiting atomic.Int32

	mu    sync.Mutex
	conns map[string]*registered
	wg    sync.WaitGroup
	// refused counts refusals since the last log line about them.
	refused    int
	refuseLast string
	lastLog    time.Time
}

// registered is one connected node program.
type registered struct {
	name string
	conn net.Conn
	col  *collector

	wmu    sync.Mutex // serializes writes
	nextID atomic.Uint64

	pmu     sync.Mutex
	pending map[uint64]chan report.CollectResponse

	stateMu sync.Mutex
	state   supervisor.State
}

// listenRegister listens on the unix socket at path, in a directory only
// the host's user may enter, the socket itself mode 0600.
func listenRegister(path string, base context.Context, log hclog.Logger, taken func(string) bool, timeout func() time.Duration) (*registry, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("register socket: the path %s is %d bytes long, but a unix socket path may have at most %d; set reporting.socket to a shorter path", path, len(path), maxSocketPath)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("register socket: %w", err)
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("register socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("register socket: %w", err)
	}
	return &registry{log: log, ln: ln, path: path, base: base, taken: taken, timeout: timeout, conns: map[string]*registered{}}, nil
}

// removeStaleSocket removes a socket left by a host that died, and refuses
// to take the place of one that still answers.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("register socket: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("register socket: %s exists and is not a socket; remove it or set reporting.socket elsewhere", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("register socket: another host is listening on %s", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("register socket: removing stale %s: %w", path, err)
	}
	return nil
}

// serve accepts connections until the listener is closed.
func (r *registry) serve() {
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Warn("accepting on register socket", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		r.wg.Go(func() { r.handle(conn) })
	}
}

// handle runs one connection: the hello, then reading answers until it
// closes.
func (r *registry) handle(conn net.Conn) {
	defer conn.Close()
	if r.waiting.Add(1) > maxWaiting {
		r.waiting.Add(-1)
		r.refuse(conn, fmt.Sprintf("%d connections are already waiting to say hello; try again later", maxWaiting))
		return
	}
	br := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	line, err := readLine(br, maxHello)
	r.waiting.Add(-1)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.refuse(conn, "reading the hello: "+err.Error())
		}
		return
	}
	var hello report.Hello
	if err := json.Unmarshal(line, &hello); err != nil {
		r.refuse(conn, "the first message must be a JSON hello: "+err.Error())
		return
	}
	_ = conn.SetReadDeadline(time.Time{})
	name := hello.Register
	switch {
	case hello.Protocol != report.ProtocolVersion:
		r.refuse(conn, fmt.Sprintf("this host speaks register protocol %d, not %d", report.ProtocolVersion, hello.Protocol))
		return
	case sdk.ValidName(name) != nil:
		r.refuse(conn, sdk.ValidName(name).Error())
		return
	case r.taken(name):
		r.refuse(conn, fmt.Sprintf("%q is the name of a producer in the host's configuration", name))
		return
	}
	log := r.log.With("producer", name)
	p := &registered{name: name, conn: conn, pending: map[uint64]chan report.CollectResponse{},
		state: supervisor.State{Kind: registeredKind, Name: name, Up: true, Starts: 1}}
	p.col = &collector{name: "registered producer " + name, timeout: r.timeout(), fn: p.collect, base: r.base, log: log}
	r.mu.Lock()
	if _, dup := r.conns[name]; dup {
		r.mu.Unlock()
		r.refuse(conn, fmt.Sprintf("a producer named %q is already registered", name))
		return
	}
	if len(r.conns) >= maxRegistered {
		r.mu.Unlock()
		r.refuse(conn, fmt.Sprintf("%d programs are already registered, the most this host accepts", maxRegistered))
		return
	}
	r.conns[name] = p
	r.mu.Unlock()
	welcome := report.Welcome{OK: true}
	if hello.MaxProtocol >= report.ProtocolLabels {
		welcome.Protocol = report.ProtocolLabels
	}
	if err := p.send(welcome); err != nil {
		r.forget(p)
		return
	}
	log.Info("producer registered", "version", hello.Version)
	for {
		line, err := readLine(br, maxAnswer)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				log.Warn("dropping the producer", "error", err)
			}
			break
		}
		var resp report.CollectResponse
		if err := json.Unmarshal(line, &resp); err != nil {
			log.Warn("dropping the producer: bad message", "error", err)
			break
		}
		p.pmu.Lock()
		ch, ok := p.pending[resp.ID]
		delete(p.pending, resp.ID)
		p.pmu.Unlock()
		if ok {
			ch <- resp // buffered
		}
	}
	r.forget(p)
	log.Info("producer went away")
}

// readLine reads one line of at most max bytes (the newline excluded)
// without holding more than that.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 {
			return nil, fmt.Errorf("a message is longer than %d bytes", max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// refuse tells a program why it is refused; the refusals are logged as a
// summary, at most once a minute.
func (r *registry) refuse(conn net.Conn, msg string) {
	r.mu.Lock()
	r.refused++
	if r.refuseLast == "" {
		r.refuseLast = msg
	}
	if now := time.Now(); now.Sub(r.lastLog) >= time.Minute {
		r.log.Warn("refused producer registrations (summary, at most once a minute)", "count", r.refused, "first_reason", r.refuseLast)
		r.refused, r.refuseLast, r.lastLog = 0, "", now
	}
	r.mu.Unlock()
	b, _ := json.Marshal(report.Welcome{Error: msg})
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write(append(b, '\n'))
}

func (r *registry) forget(p *registered) {
	r.mu.Lock()
	if r.conns[p.name] == p {
		delete(r.conns, p.name)
	}
	r.mu.Unlock()
	p.conn.Close()
}

// producers returns the connected programs, by name.
func (r *registry) producers() []*registered {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*registered, 0, len(r.conns))
	for _, p := range r.conns {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Close stops accepting, drops every connection and removes the socket.
func (r *registry) Close() error {
	err := r.ln.Close() // also removes the socket file
	r.mu.Lock()
	for _, p := range r.conns {
		p.conn.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}

func (p *registered) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	_ = p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err = p.conn.Write(append(b, '\n'))
	return err
}

// collect asks the program for its stats.
func (p *registered) collect(ctx context.Context) (sdk.Stats, error) {
	start := time.Now()
	st, err := p.ask(ctx)
	dur := time.Since(start)
	p.stateMu.Lock()
	p.state.Calls++
	p.state.CallDuration = dur
	// Up while the program answers its polls in time.
	p.state.Up = err == nil || errors.Is(err, errAnswered)
	if err != nil {
		p.state.Failures++
		p.state.LastError = err.Error()
		p.state.LastErrorTime = time.Now()
	} else {
		p.state.LastError = ""
	}
	p.stateMu.Unlock()
	return st, err
}

// errAnswered marks the error of a program that did answer in time.
var errAnswered = errors.New("answered with an error")

func (p *registered) ask(ctx context.Context) (sdk.Stats, error) {
	id := p.nextID.Add(1)
	ch := make(chan report.CollectResponse, 1)
	p.pmu.Lock()
	p.pending[id] = ch
	p.pmu.Unlock()
	defer func() {
		p.pmu.Lock()
		delete(p.pending, id)
		p.pmu.Unlock()
	}()
	timeout := time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	if err := p.send(report.CollectRequest{ID: id, TimeoutMS: timeout.Milliseconds()}); err != nil {
		return sdk.Stats{}, fmt.Errorf("asking registered producer %s: %w", p.name, err)
	}
	select {
	case resp := <-ch:
		st, bad := cleanStats(resp.Stats)
		var errs []error
		if resp.Error != "" {
			errs = append(errs, errors.New(resp.Error))
		}
		if bad != nil {
			errs = append(errs, bad)
		}
		if err := errors.Join(errs...); err != nil {
			return st, fmt.Errorf("registered producer %s: %w: %w", p.name, errAnswered, err)
		}
		return st, nil
	case <-ctx.Done():
		return sdk.Stats{}, fmt.Errorf("registered producer %s did not answer in time: %w", p.name, ctx.Err())
	}
}

// stateSnapshot is the program's health.
func (p *registered) stateSnapshot() supervisor.State {
	p.stateMu.Lock()
	defer p.stateMu.Unlock()
	return p.state
}

// cleanStats drops invalid names and series, as the plugin transport
// does.
func cleanStats(st sdk.Stats) (sdk.Stats, error) {
	var bad []string
	for k := range st.Counters {
		if err := sdk.ValidSeries(k); err != nil {
			bad = append(bad, k)
			delete(st.Counters, k)
		}
	}
	for k := range st.Stats {
		if err := sdk.ValidSeries(k); err != nil {
			bad = append(bad, k)
			delete(st.Stats, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		if len(bad) > 3 {
			bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
		}
		return st, fmt.Errorf("dropped invalid names %q", bad)
	}
	return st, nil
}
