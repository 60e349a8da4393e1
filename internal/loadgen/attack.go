package loadgen

// Attacks on the gatherer (issue 10), measured: the honest hosts' round
// time, the gatherer's RSS, file descriptors, CPU and log, and the
// snapshot, before and during each attack.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// attacks are the attacks -attack knows.
var attacks = map[string]func(ctx context.Context, a *attackEnv) (func(), error){
	"bigkeys":     attackBigKeys,
	"preauth":     attackPreAuth,
	"idle":        attackIdle,
	"dupkey":      attackDupKey,
	"unsolicited": attackUnsolicited,
	"negative":    attackNegative,
	"slowanswer":  attackSlowAnswer,
	"freshkeys":   attackFreshKeys,
	"manysources": attackManySources,
}

// attackEnv is what an attack needs.
type attackEnv struct {
	o      options
	t      target
	addr   string
	secret string
	stop   chan struct{}
	wg     sync.WaitGroup
	note   func(format string, args ...any)
}

// logCounter counts the gatherer's log.
type logCounter struct {
	bytes, warns atomic.Int64
	w            io.Writer
}

func (c *logCounter) Write(b []byte) (int, error) {
	c.bytes.Add(int64(len(b)))
	c.warns.Add(int64(strings.Count(string(b), "[WARN]")))
	if c.w != nil {
		c.w.Write(b)
	}
	return len(b), nil
}

// figures are one measurement of the gatherer.
type figures struct {
	rss, peak           int64
	fds                 int
	cpu                 time.Duration
	logBytes, warnLines int64
	snapshot            int64
	pollMin, pollMax    float64
	rounds              int
	answersMin          int
}

func (f figures) String() string {
	return fmt.Sprintf("honest round %.3f–%.3f s (%d rounds, min answers %d), RSS %.0f MiB (peak %.0f), fds %d, CPU %.1f s, log %d bytes / %d WARN lines, snapshot %d bytes",
		f.pollMin, f.pollMax, f.rounds, f.answersMin, mib(f.rss), mib(f.peak), f.fds, f.cpu.Seconds(), f.logBytes, f.warnLines, f.snapshot)
}

// measure watches d of rounds and returns the figures, with log and CPU
// as deltas over d.
func measure(ctx context.Context, t target, logs *logCounter, d time.Duration) figures {
	var f figures
	f.pollMin, f.answersMin = 1e9, 1<<30
	cpu0, log0, warn0 := cpuOf(t.pid), logs.bytes.Load(), logs.warns.Load()
	end := time.Now().Add(d)
	var last uint64
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
		st, err := fetchStatus(ctx, t.status)
		if err != nil {
			continue
		}
		if r := st.LastRound; r.Seq > last {
			last = r.Seq
			f.rounds++
			f.pollMin, f.pollMax = min(f.pollMin, r.PollSeconds), max(f.pollMax, r.PollSeconds)
			f.answersMin = min(f.answersMin, r.Answers)
		}
	}
	f.rss, f.peak = memOf(t.pid)
	f.fds = fdsOf(t.pid)
	f.cpu = cpuOf(t.pid) - cpu0
	f.logBytes, f.warnLines = logs.bytes.Load()-log0, logs.warns.Load()-warn0
	if fi, err := os.Stat(filepath.Join(t.basedir, "stats.json")); err == nil {
		f.snapshot = fi.Size()
	}
	return f
}

// runAttack measures the gatherer with the honest hosts connected, runs
// the attack, and measures again.
func runAttack(ctx context.Context, o options, t target, logs *logCounter, stdout io.Writer) error {
	start, ok := attacks[o.attack]
	if !ok {
		var names []string
		for n := range attacks {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("-attack %q: want one of %s", o.attack, strings.Join(names, ", "))
	}
	env := &attackEnv{o: o, t: t, addr: t.furl.Hints[0], secret: t.furl.Secret, stop: make(chan struct{}),
		note: func(format string, args ...any) { fmt.Fprintf(stdout, "  "+format+"\n", args...) }}
	fmt.Fprintf(stdout, "attack %s: measuring %v before\n", o.attack, o.attackFor)
	before := measure(ctx, t, logs, o.attackFor)
	fmt.Fprintf(stdout, "before: %v\n", before)
	aStart := time.Now()
	after, err := start(ctx, env)
	if err != nil {
		return err
	}
	during := measure(ctx, t, logs, o.attackFor)
	fmt.Fprintf(stdout, "during: %v\n", during)
	if after != nil {
		after()
	}
	close(env.stop)
	env.wg.Wait()
	fmt.Fprintf(stdout, "attack %s ran %v\n", o.attack, time.Since(aStart).Round(time.Millisecond))
	return nil
}

// hello connects with id and says hello; it returns the connection and
// the gatherer's reply.
func hello(addr, secret string, id *identity.Identity, src string) (*tls.Conn, *wire.Conn, *wire.Message, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	td := tls.Dialer{NetDialer: d, Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{id.Cert}}}
	nc, err := td.Dial("tcp", addr)
	if err != nil {
		return nil, nil, nil, err
	}
	tc := nc.(*tls.Conn)
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	c := wire.NewConn(tc, 1<<20)
	if err := c.Send(wire.NewHello(secret, "attacker", nil)); err != nil {
		tc.Close()
		return nil, nil, nil, err
	}
	m, err := c.Recv()
	if err != nil {
		tc.Close()
		return nil, nil, nil, err
	}
	return tc, c, m, nil
}

func encodedCounters(n int, neg bool) []byte {
	st := sdk.NewStats()
	for i := range n {
		v := int64(i)
		if neg {
			v = -9223372036854775808
		}
		st.Counters[fmt.Sprintf("a.c%06d", i)] = v
	}
	b, _ := proto.Marshal(daemon.StatsToProto(st))
	return b
}

// enrolFresh dials the gatherer with a fresh key until it is welcomed,
// waiting pause after each refusal; ok is false once the attack stops.
func (a *attackEnv) enrolFresh(pause time.Duration) (*tls.Conn, *wire.Conn, bool) {
	for !a.stopped() {
		id, err := identity.New()
		if err != nil {
			return nil, nil, false
		}
		tc, c, m, err := hello(a.addr, a.secret, id, "")
		if err == nil && m.GetWelcome() != nil {
			return tc, c, true
		}
		if tc != nil {
			tc.Close()
		}
		a.sleep(pause)
	}
	return nil, nil, false
}

// freshAttacker starts one attacker: until the attack stops it enrols a
// fresh key (pausing between failed tries, counting each welcome in
// connects) and hands the connection to use; the connection is closed
// when use returns, and at once when the attack stops.
func (a *attackEnv) freshAttacker(pause time.Duration, connects *atomic.Int64, use func(tc *tls.Conn, c *wire.Conn)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for !a.stopped() {
			tc, c, ok := a.enrolFresh(pause)
			if !ok {
				return
			}
			connects.Add(1)
			done := make(chan struct{})
			go func() {
				select {
				case <-a.stop:
				case <-done:
				}
				tc.Close()
			}()
			use(tc, c)
			close(done)
		}
	}()
}

// pollAnswerer enrols a fresh key per connection and answers every poll
// with stats, re-dialling when dropped, until stop.
func (a *attackEnv) pollAnswerer(stats []byte, told *atomic.Int64, connects *atomic.Int64) {
	a.freshAttacker(500*time.Millisecond, connects, func(tc *tls.Conn, c *wire.Conn) {
		for {
			tc.SetDeadline(time.Now().Add(5 * time.Minute))
			m, err := c.Recv()
			if err != nil {
				return
			}
			if m.GetRefuse() != nil {
				told.Add(1)
				return
			}
			if p := m.GetPoll(); p != nil {
				if _, err := tc.Write(wire.AppendAnswerFrame(nil, p.Id, stats)); err != nil {
					return
				}
			}
		}
	})
}

func (a *attackEnv) stopped() bool {
	select {
	case <-a.stop:
		return true
	default:
		return false
	}
}

func (a *attackEnv) sleep(d time.Duration) {
	select {
	case <-a.stop:
	case <-time.After(d):
	}
}

// attackBigKeys: ten fresh keys answering polls with 400,000 counters.
func attackBigKeys(_ context.Context, a *attackEnv) (func(), error) {
	stats := encodedCounters(400_000, false)
	a.note("10 keys × 400,000 counters, %d bytes per answer", len(stats))
	var told, connects atomic.Int64
	for range 10 {
		a.pollAnswerer(stats, &told, &connects)
	}
	return func() { a.note("attackers welcomed %d times, told why %d times", connects.Load(), told.Load()) }, nil
}

// attackNegative: one host reporting the most negative counter.
func attackNegative(_ context.Context, a *attackEnv) (func(), error) {
	var told, connects atomic.Int64
	a.pollAnswerer(encodedCounters(10, true), &told, &connects)
	return func() {
		b, _ := os.ReadFile(filepath.Join(a.t.basedir, "stats.json"))
		a.note("negative counters in the snapshot: %d", strings.Count(string(b), "-9223372036854775808"))
	}, nil
}

// stall keeps n connections from src that send first (nil: nothing) and
// wait for the gatherer to close them, re-dialling at once.
func (a *attackEnv) stall(n int, src string, first []byte, dials *atomic.Int64) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	for range n {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			buf := make([]byte, 512)
			for !a.stopped() {
				c, err := d.Dial("tcp", a.addr)
				if err != nil {
					a.sleep(10 * time.Millisecond)
					continue
				}
				dials.Add(1)
				if first != nil {
					c.Write(first)
				}
				done := make(chan struct{})
				go func() {
					select {
					case <-a.stop:
					case <-done:
					}
					c.Close()
				}()
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				close(done)
			}
		}()
	}
}

// honestJoin starts one more honest host (fresh key) and reports how long
// until it is polled.
func (a *attackEnv) honestJoin(ctx context.Context) {
	id, err := identity.New()
	if err != nil {
		return
	}
	var polled atomic.Int64
	start := time.Now()
	l, err := link.New(link.Config{Furl: a.t.furl, Identity: id, Nickname: "honest-late",
		Poll:       func(context.Context) sdk.Stats { polled.Add(1); return sdk.NewStats() },
		MinBackoff: time.Second, MaxBackoff: 5 * time.Second, HandshakeTimeout: 10 * time.Second})
	if err != nil {
		return
	}
	lctx, cancel := context.WithCancel(ctx)
	a.wg.Add(1)
	go func() { defer a.wg.Done(); l.Run(lctx) }()
	go func() { <-a.stop; cancel() }()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		var connected time.Duration
		for polled.Load() == 0 {
			if a.stopped() {
				a.note("a new honest host was NOT polled during the attack (%v; connected after %v); last error: %s", time.Since(start).Round(time.Millisecond), connected, l.Status().LastError)
				return
			}
			if connected == 0 && l.Status().Connected {
				connected = time.Since(start).Round(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
		a.note("a new honest host was welcomed %v and polled %v after it started (the next round)", connected, time.Since(start).Round(time.Millisecond))
	}()
}

// attackPreAuth: 400 connections from 127.0.0.2 sending five bytes of a
// TLS record, re-dialling; then a new honest host joins.
func attackPreAuth(ctx context.Context, a *attackEnv) (func(), error) {
	var dials atomic.Int64
	a.stall(400, "127.0.0.2", []byte{0x16, 0x03, 0x01, 0x02, 0x00}, &dials)
	time.Sleep(time.Second)
	a.honestJoin(ctx)
	return func() { a.note("%d attacker connections", dials.Load()) }, nil
}

// attackIdle: 2,000 connections from 127.0.0.2 that send nothing.
func attackIdle(ctx context.Context, a *attackEnv) (func(), error) {
	var dials atomic.Int64
	a.stall(2000, "127.0.0.2", nil, &dials)
	time.Sleep(time.Second)
	a.honestJoin(ctx)
	return func() { a.note("%d attacker connections", dials.Load()) }, nil
}

// attackDupKey: two hosts with one key.
func attackDupKey(ctx context.Context, a *attackEnv) (func(), error) {
	id, err := identity.New()
	if err != nil {
		return nil, err
	}
	var links []*link.Link
	for i := range 2 {
		l, err := link.New(link.Config{Furl: a.t.furl, Identity: id, Nickname: fmt.Sprintf("twin-%d", i),
			Poll: func(context.Context) sdk.Stats { return sdk.NewStats() }, MinBackoff: 500 * time.Millisecond, MaxBackoff: 2500 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		lctx, cancel := context.WithCancel(ctx)
		a.wg.Add(1)
		go func() { defer a.wg.Done(); l.Run(lctx) }()
		go func() { <-a.stop; cancel() }()
		links = append(links, l)
	}
	return func() {
		a.note("twins welcomed %d and %d times", links[0].Status().Connects, links[1].Status().Connects)
	}, nil
}

// attackUnsolicited: 10 keys sending answers of 100,000 stats nobody
// asked for, as fast as they can.
func attackUnsolicited(_ context.Context, a *attackEnv) (func(), error) {
	stats := encodedCounters(100_000, false)
	var sent, connects atomic.Int64
	for range 10 {
		a.freshAttacker(100*time.Millisecond, &connects, func(tc *tls.Conn, _ *wire.Conn) {
			tc.SetDeadline(time.Now().Add(time.Minute))
			go io.Copy(io.Discard, tc)
			for n := uint64(1); ; n++ {
				if _, err := tc.Write(wire.AppendAnswerFrame(nil, n, stats)); err != nil {
					return
				}
				sent.Add(1)
			}
		})
	}
	return func() { a.note("%d unsolicited answers sent over %d connections", sent.Load(), connects.Load()) }, nil
}

// attackSlowAnswer: 300 fresh keys answering every poll with only the
// header of an answer of 0x003FFE50 bytes (just under max_message_size),
// then one byte a second (issue 25, item 1).
func attackSlowAnswer(_ context.Context, a *attackEnv) (func(), error) {
	var polls, connects atomic.Int64
	for range 300 {
		a.freshAttacker(500*time.Millisecond, &connects, func(tc *tls.Conn, c *wire.Conn) {
			tc.SetDeadline(time.Now().Add(5 * time.Minute))
			m, err := c.Recv()
			if err != nil || m.GetPoll() == nil {
				return
			}
			polls.Add(1)
			if _, err := tc.Write([]byte{0x00, 0x3f, 0xfe, 0x50}); err != nil {
				return
			}
			for !a.stopped() {
				if _, err := tc.Write([]byte{0}); err != nil {
					return
				}
				a.sleep(time.Second)
			}
		})
	}
	return func() { a.note("slow answers begun %d times over %d connections", polls.Load(), connects.Load()) }, nil
}

// attackFreshKeys: 10 attackers each dialling with a fresh key, answering
// one poll with 20,000 counters and closing, over and over (issue 25,
// item 4: the snapshot grows by a node per answer under open).
func attackFreshKeys(_ context.Context, a *attackEnv) (func(), error) {
	stats := encodedCounters(20_000, false)
	var answers, connects atomic.Int64
	for range 10 {
		a.freshAttacker(100*time.Millisecond, &connects, func(tc *tls.Conn, c *wire.Conn) {
			tc.SetDeadline(time.Now().Add(time.Minute))
			if m, err := c.Recv(); err == nil && m.GetPoll() != nil {
				if _, err := tc.Write(wire.AppendAnswerFrame(nil, m.GetPoll().Id, stats)); err == nil {
					answers.Add(1)
				}
				tc.SetReadDeadline(time.Now().Add(2 * time.Second))
				c.Recv() // the next poll: the answer was taken
			}
		})
	}
	return func() {
		a.note("fresh keys welcomed %d times, answered %d times; %s", connects.Load(), answers.Load(), nodesEnrolled(a))
	}, nil
}

// attackManySources: 1,022 source addresses (127.3.x.y) each holding 2
// half-open TLS handshakes, re-dialling at once; 5 s in, 8 fresh keys
// from 8 new addresses (127.9.0.x) try to join, retrying every second as
// a host does, and each says how long until it was polled (issue 25,
// item 6).
func attackManySources(ctx context.Context, a *attackEnv) (func(), error) {
	var dials atomic.Int64
	for i := range 1022 {
		a.stall(2, fmt.Sprintf("127.3.%d.%d", i/250, i%250+1), []byte{0x16, 0x03, 0x01, 0x02, 0x00}, &dials)
	}
	var mu sync.Mutex
	results := make([]string, 8)
	joined := time.Now().Add(5 * time.Second)
	for j := range 8 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.sleep(time.Until(joined))
			src := fmt.Sprintf("127.9.0.%d", j+1)
			id, err := identity.New()
			if err != nil {
				return
			}
			for tries := 1; !a.stopped(); tries++ {
				tc, c, m, err := hello(a.addr, a.secret, id, src)
				if err == nil && m.GetWelcome() != nil {
					welcomed := time.Since(joined)
					mu.Lock()
					results[j] = fmt.Sprintf("welcomed %v (%d tries), not yet polled", welcomed.Round(time.Millisecond), tries)
					mu.Unlock()
					tc.SetDeadline(time.Now().Add(time.Minute))
					m, err := c.Recv()
					tc.Close()
					if err == nil && m.GetPoll() != nil {
						mu.Lock()
						results[j] = fmt.Sprintf("welcomed %v, polled %v after it started (%d tries)", welcomed.Round(time.Millisecond), time.Since(joined).Round(time.Millisecond), tries)
						mu.Unlock()
					}
					return
				}
				if tc != nil {
					tc.Close()
				}
				a.sleep(time.Second)
			}
		}()
	}
	return func() {
		a.note("%d attacker connections", dials.Load())
		mu.Lock()
		defer mu.Unlock()
		for j, r := range results {
			if r == "" {
				r = fmt.Sprintf("NOT welcomed within %v", time.Since(joined).Round(time.Second))
			}
			a.note("fresh key from 127.9.0.%d: %s", j+1, r)
		}
	}, nil
}

// nodesEnrolled reads the enrolled node count from the status page.
func nodesEnrolled(a *attackEnv) string {
	st, err := fetchStatus(context.Background(), a.t.status)
	if err != nil {
		return "status: " + err.Error()
	}
	return fmt.Sprintf("nodes enrolled %d", st.NodesEnrolled)
}

// cpuOf is the CPU time (user+system) of a process.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * time.Second / 100 // USER_HZ
}

// fdsOf counts a process's open file descriptors.
func fdsOf(pid int) int {
	es, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(es)
}
