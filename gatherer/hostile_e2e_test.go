package gatherer_test

// The gatherer under a hostile fleet (issue 10), with a real gatherer
// process, real hosts, and attackers in this process speaking the wire
// protocol (or not) over real TLS connections.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// hostileDir is gathererDir with extra HCL appended to gatherer.hcl.
func hostileDir(t *testing.T, extra string) string {
	t.Helper()
	dir := gathererDir(t)
	f, err := os.OpenFile(filepath.Join(dir, "gatherer.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readFurl(t *testing.T, dir string) furl.FURL {
	t.Helper()
	f, err := furl.ReadFile(filepath.Join(dir, basedir.FurlFile))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// rawPeer is a peer speaking the wire protocol by hand.
type rawPeer struct {
	tc *tls.Conn
	c  *wire.Conn
	id *identity.Identity
}

// hello connects with a fresh key (or id) and says hello with secret; it
// returns the peer and the gatherer's reply (welcome or refuse).
func hello(t *testing.T, addr string, id *identity.Identity, secret string) (*rawPeer, *wire.Message, error) {
	t.Helper()
	if id == nil {
		var err error
		if id, err = identity.New(); err != nil {
			t.Fatal(err)
		}
	}
	tc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{id.Cert}})
	if err != nil {
		return nil, nil, err
	}
	tc.SetDeadline(time.Now().Add(20 * time.Second))
	p := &rawPeer{tc: tc, c: wire.NewConn(tc, 1<<20), id: id}
	if err := p.c.Send(wire.NewHello(secret, "raw", nil)); err != nil {
		tc.Close()
		return nil, nil, err
	}
	m, err := p.c.Recv()
	if err != nil {
		tc.Close()
		return nil, nil, err
	}
	return p, m, nil
}

func encodedCounters(t *testing.T, n int) []byte {
	t.Helper()
	st := sdk.NewStats()
	for i := range n {
		st.Counters[fmt.Sprintf("attack.c%07d", i)] = int64(i)
	}
	b, err := proto.Marshal(daemon.StatsToProto(st))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attacker enrols a fresh key and answers every poll with stats, then
// re-dials, until stop is closed. It records the refusals it was told.
func attacker(t *testing.T, addr, secret string, stats []byte, stop chan struct{}, told *atomic.Value) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		p, m, err := hello(t, addr, nil, secret)
		if err != nil || m.GetWelcome() == nil {
			if p != nil {
				p.tc.Close()
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go func() { <-stop; p.tc.Close() }()
		for {
			p.tc.SetDeadline(time.Now().Add(10 * time.Second))
			m, err := p.c.Recv()
			if err != nil {
				break
			}
			if r := m.GetRefuse(); r != nil {
				told.Store(r.Reason)
				break
			}
			if poll := m.GetPoll(); poll != nil {
				if _, err := p.tc.Write(wire.AppendAnswerFrame(nil, poll.Id, stats)); err != nil {
					break
				}
			}
		}
		p.tc.Close()
	}
}

// TestE2EQuotaAttack: ten fresh keys answering with 400,000 counters (7
// MB, over the answer quota) and ten with 30,000 (under it, over the
// stats quota) leave the snapshot within the quotas; the attackers are
// told why, and the honest hosts are polled in every round, never
// dropped.
func TestE2EQuotaAttack(t *testing.T) {
	t.Parallel()
	dir := hostileDir(t, "")
	g := startGatherer(t, dir)
	f := readFurl(t, dir)
	var honest []string
	for _, nick := range []string{"honest-1", "honest-2"} {
		_, id := startHost(t, dir, nick, "")
		honest = append(honest, id)
	}
	logs := g.stderr.String
	waitFor(t, "the honest hosts", logs, func() bool { return len(g.statusJSON().Hosts) == 2 })
	big, many := encodedCounters(t, 400_000), encodedCounters(t, 30_000)
	if len(big) < 5<<20 || len(many) > 4<<20 {
		t.Fatalf("attack sizes %d and %d bytes: want one over and one under the 4 MiB quota", len(big), len(many))
	}
	logBefore := len(logs())
	attackStart := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var toldBig, toldMany atomic.Value
	for i := range 20 {
		stats, told := big, &toldBig
		if i%2 == 1 {
			stats, told = many, &toldMany
		}
		wg.Add(1)
		go func() { defer wg.Done(); attacker(t, f.Hints[0], f.Secret, stats, stop, told) }()
	}
	t.Cleanup(func() { close(stop); wg.Wait() })
	waitFor(t, "both kinds of attacker refused", logs, func() bool {
		k := g.statusJSON().RefusedByKind
		return k["answer_too_large"] >= 10 && k["too_many_stats"] >= 10
	})
	start := g.statusJSON().LastRound.WrittenSeq
	waitFor(t, "five rounds under attack", logs, func() bool { return g.statusJSON().LastRound.WrittenSeq >= start+5 })
	attackLog := logs()[logBefore:]
	elapsed := time.Since(attackStart)

	for told, want := range map[*atomic.Value]string{&toldBig: "max_message_size", &toldMany: "over this gatherer's quota of 20000 per node"} {
		if s, _ := told.Load().(string); !strings.Contains(s, want) {
			t.Errorf("attacker was told %q, want it to mention %q", s, want)
		}
	}
	snapPath := filepath.Join(dir, "stats.json")
	fi, err := os.Stat(snapPath)
	if err != nil {
		t.Fatal(err)
	}
	snap := g.snapshot()
	for id, e := range snap {
		if n := len(e.Stats.Counters) + len(e.Stats.Stats); n > 20000 {
			t.Errorf("node %s (%s) has %d stats in the snapshot, over the quota", id, e.Nickname, n)
		}
		if e.Nickname == "raw" {
			t.Errorf("an attacker reached the snapshot: %s", id)
		}
	}
	// Two honest hosts and the gatherer: far from 7 MB.
	if fi.Size() > 256<<10 {
		t.Errorf("snapshot is %d bytes under attack", fi.Size())
	}
	for _, id := range honest {
		if e, ok := snap[id]; !ok || time.Since(time.Unix(int64(e.Timestamp), 0)) > 5*time.Second {
			t.Errorf("honest host %s: no fresh sample in the snapshot (%+v)", id, e)
		}
		if hasLine(attackLog, "disconnect:", "node="+id) || hasLine(attackLog, "poll failed", "node="+id) {
			t.Errorf("honest host %s was dropped during the attack:\n%s", id, attackLog)
		}
	}
	// Twenty attackers re-enrolling every round: a bounded log, at most
	// one line per kind and 10 s interval (the kinds depend on how loaded
	// the machine is: stalled handshakes, polls timing out, ...).
	kinds := map[string]bool{}
	lines := 0
	for _, line := range strings.Split(attackLog, "\n") {
		if i := strings.Index(line, " kind="); i >= 0 {
			kinds[strings.Fields(line[i:])[0]] = true
			lines++
		}
	}
	if bound := len(kinds) * (int(elapsed/(10*time.Second)) + 2); lines > bound || !kinds["kind=answer_too_large"] || !kinds["kind=too_many_stats"] {
		t.Errorf("%d refusal lines of %d kinds in %v, want at most %d (one per kind and 10 s), answer_too_large and too_many_stats among them:\n%s", lines, len(kinds), elapsed, bound, attackLog)
	}
	if len(attackLog) > 32<<10 {
		t.Errorf("%d log bytes during the attack", len(attackLog))
	}
}

// preauthFlood keeps n connections from local address src that send
// five bytes of a TLS record and stall, re-dialling each as soon as the
// gatherer closes it, until stop is closed.
func preauthFlood(t *testing.T, addr, src string, n int, stop chan struct{}, wg *sync.WaitGroup, dials *atomic.Int64) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: time.Second}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				dials.Add(1)
				c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00}) // a TLS record header, no body
				done := make(chan struct{})
				go func() {
					select {
					case <-stop:
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

// TestE2EPreAuthFlood: 400 connections that never authenticate,
// re-dialling, do not lock a real host out: a new host (from another
// address) and a returning one (while strangers from many addresses fill
// the whole handshake budget) are each polled within 5 s; the log stays
// within one line per refusal kind and 10 s interval.
func TestE2EPreAuthFlood(t *testing.T) {
	t.Parallel()
	dir := hostileDir(t, `
limits {
  max_handshakes             = 64
  max_handshakes_per_address = 16
}
`)
	// Attackers bind other loopback addresses as their source; the real
	// host comes from 127.0.0.1.
	g := startGatherer(t, dir)
	f := readFurl(t, dir)
	logs := g.stderr.String
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var dials atomic.Int64
	t.Cleanup(func() { close(stop); wg.Wait() })
	logBefore := len(logs())
	started := time.Now()

	// Phase 1: 400 from one address.
	preauthFlood(t, f.Hints[0], "127.0.0.2", 400, stop, &wg, &dials)
	waitFor(t, "the flood refused", logs, func() bool { return g.statusJSON().RefusedByKind["too_many_handshakes_from_address"] > 400 })
	hostDir := t.TempDir()
	h, id := startHostIn(t, hostDir, dir, "real", "")
	polledWithin(t, g, id, 5*time.Second)

	// Phase 2: strangers from 40 more addresses fill the budget (64); the
	// host, now known, returns through the reserve.
	h.stop(syscall.SIGTERM)
	waitFor(t, "the host gone", logs, func() bool { return len(g.statusJSON().Hosts) == 0 })
	for i := range 40 {
		preauthFlood(t, f.Hints[0], fmt.Sprintf("127.0.1.%d", i+1), 10, stop, &wg, &dials)
	}
	waitFor(t, "the budget full", logs, func() bool { return g.statusJSON().RefusedByKind["too_many_handshakes"] > 100 })
	startHostIn(t, hostDir, dir, "real", "")
	polledWithin(t, g, id, 5*time.Second)

	elapsed := time.Since(started)
	floodLog := logs()[logBefore:]
	kinds := map[string]bool{}
	for _, line := range strings.Split(floodLog, "\n") {
		if i := strings.Index(line, "kind="); i >= 0 && strings.Contains(line, "refused peer") {
			kinds[strings.Fields(line[i:])[0]] = true
		}
	}
	lines := strings.Count(floodLog, "refused peer")
	bound := len(kinds) * (int(elapsed/(10*time.Second)) + 2)
	t.Logf("flood: %d connections in %v, %d refusal lines (%d kinds), %d log bytes", dials.Load(), elapsed.Round(time.Millisecond), lines, len(kinds), len(floodLog))
	if lines > bound {
		t.Errorf("%d refusal lines in %v (%d kinds), over the bound of one per kind and 10 s interval (%d):\n%s", lines, elapsed, len(kinds), bound, floodLog)
	}
	if len(floodLog) > 64<<10 {
		t.Errorf("%d log bytes during the flood", len(floodLog))
	}
}

// polledWithin waits until node id has answered a poll, at most d.
func polledWithin(t *testing.T, g *runningGatherer, id string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, h := range g.statusJSON().Hosts {
			if h.ID == id && !h.LastAnswer.IsZero() && h.LastAnswer.After(h.Since) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("host %s not polled within %v; status %+v\n%s", id, d, g.statusJSON().RefusedByKind, g.stderr.String())
}

// ctl runs `statsherd gatherer OP ARGS -basedir dir`.
func ctl(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(statsherd, append(append([]string{"gatherer"}, args...), "-basedir", dir)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("statsherd gatherer %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

func nodeLine(list, id string) string {
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, id) {
			return line
		}
	}
	return ""
}

// TestE2EEnrolment: with the approve policy a new host waits as pending
// until approved; revoke disconnects a node at once and refuses it on
// every reconnect; rotate-secret keeps enrolled nodes working while a new
// node needs the new furl. All on a running gatherer, through the CLI.
func TestE2EEnrolment(t *testing.T) {
	t.Parallel()
	dir := hostileDir(t, "enrolment { policy = \"approve\" }\n")
	g := startGatherer(t, dir)
	logs := g.stderr.String
	a, idA := startHost(t, dir, "node-a", "")
	waitFor(t, "node-a pending", a.stderr.String, func() bool { return strings.Contains(a.stderr.String(), "waiting for approval") })
	if line := nodeLine(ctl(t, dir, "nodes"), idA); !strings.HasPrefix(line, "pending") || !strings.Contains(line, "node-a") {
		t.Fatalf("nodes lists node-a as %q", line)
	}
	if n := len(g.statusJSON().Hosts); n != 0 {
		t.Fatalf("%d hosts connected before approval", n)
	}
	ctl(t, dir, "approve", idA)
	polledWithin(t, g, idA, 15*time.Second)

	b, idB := startHost(t, dir, "node-b", "")
	waitFor(t, "node-b pending", logs, func() bool { return strings.HasPrefix(nodeLine(ctl(t, dir, "nodes"), idB), "pending") })
	ctl(t, dir, "approve", idB)
	polledWithin(t, g, idB, 15*time.Second)

	t.Run("revoke", func(t *testing.T) {
		ctl(t, dir, "revoke", idB)
		// At once: gone from the hosts without waiting for a round.
		waitFor(t, "node-b disconnected", logs, func() bool {
			for _, h := range g.statusJSON().Hosts {
				if h.ID == idB {
					return false
				}
			}
			return true
		})
		// Refused on reconnect, which node-b tells from a network error:
		// said once, with the fix, and no more asking for 10 minutes.
		waitFor(t, "node-b refused on reconnect", b.stderr.String, func() bool {
			return strings.Contains(b.stderr.String(), "refusal=revoked")
		})
		time.Sleep(time.Second)
		if n := strings.Count(b.stderr.String(), "refusal=revoked"); n != 1 || strings.Contains(b.stderr.String(), "gatherer unreachable: error=\"gatherer refused") {
			t.Errorf("node-b logged its revocation %d times (want once), or as unreachable:\n%s", n, b.stderr.String())
		}
		for _, h := range g.statusJSON().Hosts {
			if h.ID == idB {
				t.Errorf("revoked node-b is connected again")
			}
		}
		if line := nodeLine(ctl(t, dir, "nodes"), idB); !strings.HasPrefix(line, "revoked") {
			t.Errorf("nodes lists node-b as %q", line)
		}
	})

	t.Run("rotate-secret", func(t *testing.T) {
		old := readFurl(t, dir)
		oldFile := filepath.Join(t.TempDir(), "old.furl")
		writeFile(t, oldFile, old.String())
		newFurl := strings.TrimSpace(ctl(t, dir, "rotate-secret"))
		nf := readFurl(t, dir)
		if nf.String() != newFurl || nf.Secret == old.Secret || nf.Fingerprint != old.Fingerprint {
			t.Fatalf("rotate-secret printed %q; furl file now %q (was %q)", newFurl, nf.String(), old.String())
		}
		// The enrolled node keeps reporting, also across its restart
		// with the old furl.
		a.stop(syscall.SIGTERM)
		// Counted, not searched in the log: a refusal of a kind
		// already logged in the last 10 s is not logged again at once.
		refusedBefore := g.statusJSON().RefusedByKind["wrong_secret"]
		c, _ := startHostIn(t, t.TempDir(), dir, "node-c-old-furl", oldFile) // a new node with the old furl
		waitFor(t, "the new node with the old furl refused for its secret", logs, func() bool {
			return g.statusJSON().RefusedByKind["wrong_secret"] > refusedBefore && strings.Contains(c.stderr.String(), "wrong secret")
		})
		// node-a again, same key, with the old furl: admitted.
		aDir := filepath.Dir(a.cmd.Args[len(a.cmd.Args)-1])
		startHostIn(t, aDir, dir, "node-a", oldFile)
		polledWithin(t, g, idA, 15*time.Second)
		// A new node with the new furl enrols (pending, under approve).
		_, idD := startHost(t, dir, "node-d", "")
		waitFor(t, "node-d pending", logs, func() bool { return strings.HasPrefix(nodeLine(ctl(t, dir, "nodes"), idD), "pending") })
	})
}

// TestE2ESecretChecks: an empty secret, a truncated one and one that
// differs only in its last character are each refused; the right one is
// welcomed.
func TestE2ESecretChecks(t *testing.T) {
	t.Parallel()
	dir := gathererDir(t)
	g := startGatherer(t, dir)
	f := readFurl(t, dir)
	last := f.Secret[len(f.Secret)-1]
	flipped := byte('a')
	if last == 'a' {
		flipped = 'b'
	}
	for _, tt := range []struct {
		name, secret string
		ok           bool
	}{
		{"empty", "", false},
		{"truncated", f.Secret[:len(f.Secret)-1], false},
		{"first half", f.Secret[:len(f.Secret)/2], false},
		{"last character differs", f.Secret[:len(f.Secret)-1] + string(flipped), false},
		{"one character more", f.Secret + "a", false},
		{"right", f.Secret, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, m, err := hello(t, f.Hints[0], nil, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			defer p.tc.Close()
			if tt.ok {
				if m.GetWelcome() == nil {
					t.Fatalf("the right secret got %s", wire.Kind(m))
				}
				return
			}
			if r := m.GetRefuse(); r == nil || !strings.Contains(r.Reason, "wrong secret") {
				t.Fatalf("secret %q got %s %v, want a refusal for the wrong secret", tt.secret, wire.Kind(m), m)
			}
		})
	}
	if n := g.statusJSON().RefusedByKind["wrong_secret"]; n != 5 {
		t.Errorf("%d wrong_secret refusals counted, want 5", n)
	}
}

// TestE2EProtocolDiscipline: an answer nobody asked for and an answer
// with the wrong id each close the connection and are counted; negative
// counters are dropped and counted; a second host with a key already
// connected is refused with a WARN naming both addresses, and the first
// stays (no flap).
func TestE2EProtocolDiscipline(t *testing.T) {
	t.Parallel()
	dir := gathererDir(t)
	g := startGatherer(t, dir)
	f := readFurl(t, dir)
	logs := g.stderr.String
	// closed reports whether the gatherer ends the connection within
	// 10 s. Meanwhile the peer behaves: it answers each poll, so that
	// only the misbehaviour before can be why the connection ends (not
	// a poll left unanswered), and a connection kept open is seen.
	closed := func(p *rawPeer) bool {
		p.tc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			m, err := p.c.Recv()
			if err != nil {
				var ne net.Error
				return !errors.As(err, &ne) || !ne.Timeout()
			}
			if poll := m.GetPoll(); poll != nil {
				p.tc.Write(wire.AppendAnswerFrame(nil, poll.Id, nil))
			}
		}
	}

	t.Run("unsolicited answer", func(t *testing.T) {
		// Made before connecting: slow under -race, and a peer that
		// leaves a poll unanswered for the poll timeout is dropped first.
		answer := wire.AppendAnswerFrame(nil, 12345, encodedCounters(t, 100_000))
		p, m, err := hello(t, f.Hints[0], nil, f.Secret)
		if err != nil || m.GetWelcome() == nil {
			t.Fatalf("hello: %v %v", m, err)
		}
		defer p.tc.Close()
		p.tc.Write(answer)
		if !closed(p) {
			t.Error("connection stayed open")
		}
		waitFor(t, "counted", logs, func() bool { return g.statusJSON().RefusedByKind["unsolicited_answer"] >= 1 })
		// "no poll in flight", or "wrong id" if a round's poll crossed it.
		waitFor(t, "logged", logs, func() bool { return hasLine(logs(), "protocol violation", "kind=unsolicited_answer", "node="+p.id.ID) })
	})
	t.Run("wrong id", func(t *testing.T) {
		p, m, err := hello(t, f.Hints[0], nil, f.Secret)
		if err != nil || m.GetWelcome() == nil {
			t.Fatalf("hello: %v %v", m, err)
		}
		defer p.tc.Close()
		m, err = p.c.Recv()
		if err != nil || m.GetPoll() == nil {
			t.Fatalf("no poll: %v %v", m, err)
		}
		p.tc.Write(wire.AppendAnswerFrame(nil, m.GetPoll().Id+1, nil))
		if !closed(p) {
			t.Error("connection stayed open")
		}
		waitFor(t, "counted", logs, func() bool { return g.statusJSON().RefusedByKind["unsolicited_answer"] >= 2 })
	})
	t.Run("negative counters", func(t *testing.T) {
		p, m, err := hello(t, f.Hints[0], nil, f.Secret)
		if err != nil || m.GetWelcome() == nil {
			t.Fatalf("hello: %v %v", m, err)
		}
		defer p.tc.Close()
		st := sdk.NewStats()
		st.Counters["neg.minimum"] = -9223372036854775808
		st.Counters["neg.minus_one"] = -1
		st.Counters["neg.fine"] = 7
		st.Counters["neg.zero"] = 0 // not negative: kept
		stats, _ := proto.Marshal(daemon.StatsToProto(st))
		for i := range 4 {
			m, err := p.c.Recv()
			if err != nil || m.GetPoll() == nil {
				t.Fatalf("no poll: %v %v", m, err)
			}
			if i == 3 {
				// The next round's poll: the third answer was
				// taken in, its drops counted.
				break
			}
			p.tc.Write(wire.AppendAnswerFrame(nil, m.GetPoll().Id, stats))
		}
		waitFor(t, "the sample in the snapshot", logs, func() bool {
			e, ok := g.snapshot()[p.id.ID]
			return ok && len(e.Stats.Counters["neg.fine"]) > 0
		})
		e := g.snapshot()[p.id.ID]
		if _, ok := e.Stats.Counters["neg.minimum"]; ok || e.Stats.Counters["neg.minus_one"] != nil {
			t.Errorf("negative counters reached the snapshot: %s", e.Stats.Counters)
		}
		if z := e.Stats.Counters["neg.zero"]; string(z) != "0" {
			t.Errorf("the zero counter is %q in the snapshot, want 0: %s", z, e.Stats.Counters)
		}
		if n := g.statusJSON().RefusedByKind["negative_counters"]; n != 6 {
			t.Errorf("%d negative counters counted, want 6 (two in each of three answers)", n)
		}
	})
	t.Run("duplicate key", func(t *testing.T) {
		dirA, dirB := t.TempDir(), t.TempDir()
		_, id := startHostIn(t, dirA, dir, "twin-a", "")
		polledWithin(t, g, id, 15*time.Second)
		for _, name := range []string{"node.key", "node.crt"} {
			b, err := os.ReadFile(filepath.Join(dirA, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dirB, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		b, idB := startHostIn(t, dirB, dir, "twin-b", "")
		if idB != id {
			t.Fatalf("the copied key has id %s, not %s", idB, id)
		}
		// The twin tells the refusal from a network error: said once,
		// with the fix (its own basedir), then it asks every 10 minutes.
		waitFor(t, "the twin refused", b.stderr.String, func() bool {
			return strings.Contains(b.stderr.String(), "refusal=duplicate_key") && strings.Contains(b.stderr.String(), "already connected")
		})
		if !hasLine(logs(), "[WARN]", "refused peer", "kind=duplicate_node_id", "node="+id, "already connected from 127.0.0.1:") {
			t.Errorf("no WARN naming both addresses:\n%s", logs())
		}
		var nicks []string
		for _, h := range g.statusJSON().Hosts {
			if h.ID == id {
				nicks = append(nicks, h.Nickname)
			}
		}
		if strings.Join(nicks, ",") != "twin-a" {
			t.Errorf("connected with the twins' key: %v, want twin-a only (no flap)", nicks)
		}
		if hasLine(logs(), "disconnect:", "node="+id) {
			t.Errorf("the first twin was disconnected:\n%s", logs())
		}
	})
}
