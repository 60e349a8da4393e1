// Package fleettest runs a real gatherer and real hosts (the statsherd
// binary built from the working tree) for the end-to-end tests of the
// outputs with a durable queue: the receiver away for ten rounds while
// the gatherer is killed with -9, then every round of every node present
// once.
package fleettest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/internal/testbin"
)

// Proc is a running process, stopped by its PID.
type Proc struct {
	t      testing.TB
	Cmd    *exec.Cmd
	Stderr *testbin.Buffer
	done   chan struct{}
}

// Start runs bin with args; the test's cleanup stops it (SIGTERM).
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, Stderr: &testbin.Buffer{}, done: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Stdout, p.Cmd.Stderr = p.Stderr, p.Stderr
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Stop(syscall.SIGTERM) })
	return p
}

// Stop sends sig and waits for the process to end.
func (p *Proc) Stop(sig syscall.Signal) {
	if !testbin.Stop(p.Cmd.Process, p.done, sig, 30*time.Second) {
		p.t.Errorf("%v did not stop on %v", p.Cmd.Args, sig)
	}
}

// WaitFor polls cond until it holds, failing the test after 90 s with
// the logs.
func WaitFor(t testing.TB, what string, logs func() string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs())
		}
	}
}

// FreePort returns a loopback TCP port free at the moment.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NewGatherer creates a gatherer base directory (nickname "central")
// with the given poll_interval and output blocks.
func NewGatherer(t testing.TB, statsherd, poll, outputs string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gatherer")
	if out, err := exec.Command(statsherd, "create-gatherer", dir).CombinedOutput(); err != nil {
		t.Fatalf("create-gatherer: %v\n%s", err, out)
	}
	cfg := fmt.Sprintf(`
nickname      = "central"
poll_interval = %q
poll_timeout  = "250ms"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "127.0.0.1:0" }
%s
`, poll, outputs)
	if err := os.WriteFile(filepath.Join(dir, "gatherer.hcl"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Gatherer is a gatherer process with its status page.
type Gatherer struct {
	*Proc
	Dir, status string
}

// StartGatherer runs the gatherer of dir and waits for its status page.
func StartGatherer(t testing.TB, statsherd, dir string) *Gatherer {
	t.Helper()
	os.Remove(filepath.Join(dir, basedir.StatusURLFile))
	g := &Gatherer{Proc: Start(t, statsherd, "gatherer", "-basedir", dir), Dir: dir}
	WaitFor(t, "the status page", g.Stderr.String, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, basedir.StatusURLFile))
		g.status = strings.TrimSpace(string(b))
		return err == nil && g.status != ""
	})
	return g
}

// Status is the gatherer's status page.
func (g *Gatherer) Status() gatherer.Status {
	var s gatherer.Status
	resp, err := http.Get(g.status + "?t=json")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// OutputStats is the own stats of the output called name.
func (g *Gatherer) OutputStats(name string) map[string]float64 {
	for _, o := range g.Status().Outputs {
		if o.Name == name {
			return o.Stats
		}
	}
	return nil
}

// Written waits until the gatherer has written n rounds that carry
// hosts answers, and returns the number of rounds written.
func (g *Gatherer) Written(t testing.TB, hosts, n int) uint64 {
	t.Helper()
	var first, last uint64
	WaitFor(t, fmt.Sprintf("%d rounds with %d hosts", n, hosts), g.Stderr.String, func() bool {
		s := g.Status()
		if first == 0 && s.LastRound.Answers == hosts {
			first = s.LastRound.Seq
		}
		last = s.LastRound.WrittenSeq
		return first > 0 && last >= first+uint64(n)
	})
	return last
}

// StartHost runs `statsherd host` (producer uptime) reporting to the
// gatherers in gdirs and returns it with its node id.
func StartHost(t testing.TB, statsherd, nick string, gdirs ...string) (*Proc, string) {
	t.Helper()
	dir := t.TempDir()
	var blocks strings.Builder
	for _, g := range gdirs {
		fmt.Fprintf(&blocks, "gatherer {\n  furl_file = %q\n  min_backoff = \"100ms\"\n  max_backoff = \"300ms\"\n}\n", filepath.Join(g, basedir.FurlFile))
	}
	cfg := filepath.Join(dir, "host.hcl")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
nickname     = %q
poll_timeout = "200ms"
%s
reporting {
  statsd = ""
  socket = ""
}
status { listen = "" }
producer "uptime" {}
`, nick, blocks.String())), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(statsherd, "host", "-config", cfg, "id").Output()
	if err != nil {
		t.Fatalf("statsherd host id: %v", err)
	}
	return Start(t, statsherd, "host", "-config", cfg), strings.TrimSpace(string(out))
}

// Point is one value of a series at its time, Unix milliseconds.
type Point struct {
	MS    int64
	Value float64
}

// Runs splits a counter's points (in time order) where the value drops:
// a restarted process.
func Runs(pts []Point) [][]Point {
	var out [][]Point
	for i, p := range pts {
		if i == 0 || p.Value < pts[i-1].Value {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], p)
	}
	return out
}

// CheckOutage checks what a store holds after TestE2EOutageAndKill9's
// story: rounds are the gatherer's own rounds counter (two runs, before
// and after the kill -9: run1 and run2 rounds written, each counting 1,
// 2, 3, … with none missing nor twice), polls each host's polls counter
// by nickname (every sample at a round's time, none twice, at most one
// gap: the round being polled at the kill).
func CheckOutage(t testing.TB, rounds []Point, run1, run2 uint64, polls map[string][]Point) {
	t.Helper()
	r := Runs(rounds)
	if len(r) != 2 {
		t.Fatalf("want two runs of the gatherer (before and after kill -9), got %d: %v", len(r), rounds)
	}
	roundTimes := map[int64]bool{}
	for i, want := range []uint64{run1, run2} {
		for j, p := range r[i] {
			if p.Value != float64(j+1) {
				t.Errorf("run %d: round %d has rounds counter %v: a round is missing or twice", i+1, j+1, p.Value)
				break
			}
		}
		if uint64(len(r[i])) < want {
			t.Errorf("run %d: %d rounds in the store, %d were written to the queue", i+1, len(r[i]), want)
		}
	}
	for _, p := range rounds {
		if roundTimes[p.MS] {
			t.Errorf("two rounds at %d", p.MS)
		}
		roundTimes[p.MS] = true
	}
	for nick, pts := range polls {
		if len(pts) < 8 {
			t.Errorf("%s: %d samples, want most of the rounds", nick, len(pts))
			continue
		}
		gaps := 0
		for i, p := range pts {
			if !roundTimes[p.MS] {
				t.Errorf("%s: sample at %d is not at a round's time", nick, p.MS)
			}
			if i > 0 && p.MS == pts[i-1].MS {
				t.Errorf("%s: two samples at %d", nick, p.MS)
			}
			// Each answered poll is one round; only a round that was
			// being polled at the kill -9 (never written) may miss.
			if i > 0 && p.Value != pts[i-1].Value+1 {
				gaps++
				if p.Value-pts[i-1].Value > 3 || p.Value <= pts[i-1].Value {
					t.Errorf("%s: polls counter jumps %v -> %v at %d", nick, pts[i-1].Value, p.Value, p.MS)
				}
			}
		}
		if gaps > 1 {
			t.Errorf("%s: %d gaps in its answers, want at most the one at the kill: %v", nick, gaps, pts)
		}
	}
}
