package remote_write_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/internal/testbin"
)

// statsherd is the binary under test, built from the working tree.
var statsherd string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"}))
}

// proc is a running statsherd process, stopped by its PID.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *testbin.Buffer
	done   chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stderr: &testbin.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(statsherd, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stderr, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	return p
}

func (p *proc) stop(sig syscall.Signal) {
	if !testbin.Stop(p.cmd.Process, p.done, sig, 30*time.Second) {
		p.t.Errorf("%v did not stop on %v", p.cmd.Args, sig)
	}
}

func waitFor(t *testing.T, what string, logs func() string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs())
		}
	}
}

// newGatherer creates a gatherer base directory with the given
// poll_interval and output blocks.
func newGatherer(t *testing.T, poll string, outputs string) string {
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

// runningGatherer is a gatherer process with its status page.
type runningGatherer struct {
	*proc
	dir, status string
}

func startGatherer(t *testing.T, dir string) *runningGatherer {
	t.Helper()
	os.Remove(filepath.Join(dir, gatherer.StatusURLFile))
	g := &runningGatherer{proc: start(t, "gatherer", "-basedir", dir), dir: dir}
	waitFor(t, "the status page", g.stderr.String, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, gatherer.StatusURLFile))
		g.status = strings.TrimSpace(string(b))
		return err == nil && g.status != ""
	})
	return g
}

func (g *runningGatherer) statusJSON() gatherer.Status {
	var s gatherer.Status
	resp, err := http.Get(g.status + "?t=json")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// outputStats is the remote_write output's own stats on the status page.
func (g *runningGatherer) outputStats() map[string]float64 {
	for _, o := range g.statusJSON().Outputs {
		if o.Name == "remote_write" {
			return o.Stats
		}
	}
	return nil
}

// startHost runs `statsherd host` reporting to the gatherers in gdirs and
// returns it with its node id.
func startHost(t *testing.T, nick string, gdirs ...string) (*proc, string) {
	t.Helper()
	dir := t.TempDir()
	var blocks strings.Builder
	for _, g := range gdirs {
		fmt.Fprintf(&blocks, "gatherer {\n  furl_file = %q\n  min_backoff = \"100ms\"\n  max_backoff = \"300ms\"\n}\n", filepath.Join(g, gatherer.FurlFile))
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
	return start(t, "host", "-config", cfg), strings.TrimSpace(string(out))
}

// byNode splits the series of one metric by node id; each node must have
// one series.
func byNode(t *testing.T, s series) map[string][]point {
	t.Helper()
	out := map[string][]point{}
	for k, pts := range s {
		i := strings.Index(k, `node="`)
		if i < 0 {
			t.Fatalf("series without a node label: %s", k)
		}
		id := k[i+6:]
		id = id[:strings.IndexByte(id, '"')]
		if _, dup := out[id]; dup {
			t.Errorf("node %s has two series of one metric: %v", id, s)
		}
		out[id] = pts
	}
	return out
}

// runs splits a counter's points (in time order) where the value drops: a
// restarted process.
func runs(pts []point) [][]point {
	var out [][]point
	for i, p := range pts {
		if i == 0 || p.Value < pts[i-1].Value {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], p)
	}
	return out
}

// TestE2EOutageAndKill9: the receiver is down while the gatherer writes
// rounds, is killed with -9, restarts and writes more (more than 10
// rounds in all); when the receiver is back, every round written by the
// gatherer is in the store, once, each node's sample carrying its round's
// own timestamp.
func TestE2EOutageAndKill9(t *testing.T) {
	t.Parallel()
	vm := startVM(t)
	vm.stop()
	gdir := newGatherer(t, "300ms", fmt.Sprintf(`
output "remote_write" {
  url         = %q
  min_backoff = "50ms"
  max_backoff = "300ms"
}`, vm.WriteURL()))
	g := startGatherer(t, gdir)
	ids := map[string]string{}
	for _, nick := range []string{"storage-01", "storage-02"} {
		_, ids[nick] = startHost(t, nick, gdir)
	}
	// written waits until the running gatherer has written n rounds that
	// carry both hosts, and returns the rounds written.
	written := func(g *runningGatherer, n int) uint64 {
		var first, last uint64
		waitFor(t, fmt.Sprintf("%d rounds with both hosts", n), g.stderr.String, func() bool {
			s := g.statusJSON()
			if first == 0 && s.LastRound.Answers == 2 {
				first = s.LastRound.Seq
			}
			last = s.LastRound.WrittenSeq
			return first > 0 && last >= first+uint64(n)
		})
		return last
	}
	run1 := written(g, 5)
	if st := g.outputStats(); st["queue_samples"] == 0 || st["sent_samples"] != 0 {
		t.Errorf("receiver down, yet output stats %v", st)
	}
	g.stop(syscall.SIGKILL)
	g = startGatherer(t, gdir)
	run2 := written(g, 5)
	t.Logf("rounds written while the receiver was down: %d before kill -9, %d after", run1, run2)

	back := time.Now()
	vm.start()
	t.Logf("receiver back in %v", time.Since(back))
	waitFor(t, "the queue drained", g.stderr.String, func() bool {
		st := g.outputStats()
		return st != nil && st["sent_samples"] > 0 && st["queue_samples"] == 0
	})

	t.Logf("queue drained %v after the receiver was started", time.Since(back))
	// The store shows what it accepted within a moment: wait until both
	// runs are in, then check everything.
	var rounds series
	waitFor(t, "both runs in the store", vm.log, func() bool {
		var err error
		rounds, err = vm.query(`statsherd_statsherd_gatherer_rounds_total`)
		if err != nil || len(rounds) != 1 {
			return false
		}
		for _, pts := range rounds {
			r := runs(pts)
			return len(r) == 2 && uint64(len(r[0])) >= run1 && uint64(len(r[1])) >= run2
		}
		return false
	})
	own := byNode(t, rounds)
	roundTimes := map[int64]bool{}
	for _, pts := range own {
		r := runs(pts)
		if len(r) != 2 {
			t.Fatalf("want two runs of the gatherer (before and after kill -9), got %d: %v", len(r), pts)
		}
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
		for _, p := range pts {
			if roundTimes[p.MS] {
				t.Errorf("two rounds at %d", p.MS)
			}
			roundTimes[p.MS] = true
		}
	}

	// The gatherer keeps writing rounds while the test reads the store:
	// the hosts' samples are judged up to the last round read above.
	var lastRound int64
	for ms := range roundTimes {
		lastRound = max(lastRound, ms)
	}
	polls, err := vm.query(`statsherd_statsherd_polls_total`)
	if err != nil {
		t.Fatal(err)
	}
	hosts := byNode(t, polls)
	for nick, id := range ids {
		var pts []point
		for _, p := range hosts[id] {
			if p.MS <= lastRound {
				pts = append(pts, p)
			}
		}
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

// TestE2EHADedup: two gatherers poll the same host into one
// VictoriaMetrics that deduplicates (-dedup.minScrapeInterval): one
// series per stat; one gatherer stopped, the other's rounds go on in the
// same series.
func TestE2EHADedup(t *testing.T) {
	t.Parallel()
	const interval = 500 * time.Millisecond
	vm := startVM(t, "-dedup.minScrapeInterval="+interval.String())
	out := fmt.Sprintf(`
output "remote_write" {
  url    = %q
  labels = { cluster = "eu" }
}`, vm.WriteURL())
	adir, bdir := newGatherer(t, interval.String(), out), newGatherer(t, interval.String(), out)
	a, b := startGatherer(t, adir), startGatherer(t, bdir)
	_, id := startHost(t, "storage-01", adir, bdir)
	both := func() bool {
		return len(a.statusJSON().Hosts) == 1 && len(b.statusJSON().Hosts) == 1
	}
	waitFor(t, "the host connected to both", a.stderr.String, both)
	seqA := a.statusJSON().LastRound.Seq
	waitFor(t, "a few rounds of both", a.stderr.String, func() bool { return a.statusJSON().LastRound.WrittenSeq >= seqA+6 })
	a.stop(syscall.SIGTERM)
	stopped := time.Now().UnixMilli()
	seqB := b.statusJSON().LastRound.Seq
	waitFor(t, "rounds of the other alone", b.stderr.String, func() bool {
		s := b.statusJSON()
		return s.LastRound.WrittenSeq >= seqB+6 && s.Outputs[0].Stats["queue_samples"] == 0
	})

	all, err := vm.query(fmt.Sprintf(`{node=%q}`, id))
	if err != nil {
		t.Fatal(err)
	}
	perName := map[string]int{}
	for k := range all {
		perName[k[:strings.IndexByte(k, ',')]]++
	}
	if len(perName) < 5 {
		t.Errorf("only %d metrics of the host: %v", len(perName), perName)
	}
	for name, n := range perName {
		if n != 1 {
			t.Errorf("%s: %d series from two gatherers, want one", name, n)
		}
	}
	uptime, err := vm.query(fmt.Sprintf(`statsherd_node_uptime{node=%q}`, id))
	if err != nil {
		t.Fatal(err)
	}
	if len(uptime) != 1 {
		t.Fatalf("want one series of the host's uptime from two gatherers, got %d: %v", len(uptime), uptime)
	}
	var host []point
	for k, pts := range uptime {
		if !strings.Contains(k, `cluster="eu"`) {
			t.Errorf("series %s lacks the static label", k)
		}
		host = pts
	}
	// Deduplicated: at most one sample per interval. VictoriaMetrics's
	// intervals end on a multiple of it and include their end, (k·d−d,
	// k·d] (lib/storage DeduplicateSamples): a sample at exactly k·d is
	// in the interval before the one that starts there.
	d := interval.Milliseconds()
	windows := map[int64]int{}
	for _, p := range host {
		windows[(p.MS+d-1)/d]++
	}
	for w, n := range windows {
		if n > 1 {
			t.Errorf("%d samples in the dedup interval (%d, %d]: not deduplicated", n, (w-1)*d, w*d)
		}
	}
	// No gap: every round of B after A stopped is in the host's series.
	rounds, err := vm.query(`statsherd_statsherd_gatherer_rounds_total`)
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, p := range host {
		have[p.MS] = true
	}
	var bRounds []int64
	for k, pts := range rounds {
		if !strings.Contains(k, `nickname="central"`) {
			continue
		}
		for _, p := range pts {
			if p.MS > stopped+interval.Milliseconds() {
				bRounds = append(bRounds, p.MS)
			}
		}
	}
	sort.Slice(bRounds, func(i, j int) bool { return bRounds[i] < bRounds[j] })
	if len(bRounds) < 3 {
		t.Fatalf("only %d rounds of the remaining gatherer after the stop", len(bRounds))
	}
	for _, ms := range bRounds[:len(bRounds)-1] { // the newest may still be in flight
		if !have[ms] {
			t.Errorf("round at %d of the remaining gatherer missing from the host's series (a gap)", ms)
		}
	}
}

// TestE2EPrometheusValues: a real host through a real gatherer into a
// real Prometheus 2.42: after the host stops, its last answer in the
// store equals, stat for stat, what the gatherer received (the munin
// snapshot of the same gatherer), at its round's time.
func TestE2EPrometheusValues(t *testing.T) {
	t.Parallel()
	prom := startProm(t)
	gdir := newGatherer(t, "300ms", fmt.Sprintf(`
output "munin" { path = "stats.json" }
output "remote_write" {
  url         = %q
  min_backoff = "50ms"
  max_backoff = "300ms"
}`, prom.WriteURL()))
	g := startGatherer(t, gdir)
	host, id := startHost(t, "storage-07", gdir)
	waitFor(t, "a few rounds with the host", g.stderr.String, func() bool {
		s := g.statusJSON()
		return s.LastRound.Answers == 1 && s.LastRound.WrittenSeq > 3
	})
	host.stop(syscall.SIGTERM)
	waitFor(t, "the host dropped", g.stderr.String, func() bool { return len(g.statusJSON().Hosts) == 0 })
	seq := g.statusJSON().LastRound.Seq
	waitFor(t, "later rounds queued and the queue drained", g.stderr.String, func() bool {
		s := g.statusJSON()
		return s.LastRound.WrittenSeq > seq+1 && len(s.Outputs) == 2 && outputNamed(s, "remote_write")["queue_samples"] == 0
	})

	var snap map[string]struct {
		Timestamp float64
		Stats     struct {
			Counters map[string]*float64
			Stats    map[string]*float64
		}
	}
	b, err := os.ReadFile(filepath.Join(gdir, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	last, ok := snap[id]
	if !ok {
		t.Fatalf("the host is not in the snapshot: %s", b)
	}
	want := map[string]float64{}
	for name, v := range last.Stats.Counters {
		want["statsherd_"+strings.NewReplacer(".", "_", "-", "_").Replace(name)+"_total"] = *v
	}
	for name, v := range last.Stats.Stats {
		if v != nil {
			want["statsherd_"+strings.NewReplacer(".", "_", "-", "_").Replace(name)] = *v
		}
	}
	var got series
	waitFor(t, "the host's last answer in Prometheus", prom.log, func() bool {
		got, err = prom.query(fmt.Sprintf(`{node=%q}`, id))
		return err == nil && len(got) >= len(want)
	})
	answered := int64(last.Timestamp * 1000)
	for k, pts := range got {
		name := k[len(`{__name__="`) : strings.IndexByte(k, ',')-1]
		w, ok := want[name]
		tolerance := 1e-9 * math.Abs(w) // values pass through JSON and text
		if name == "statsherd_node_last_seen_timestamp_seconds" {
			w, ok, tolerance = last.Timestamp, true, 1e-3 // the snapshot keeps microseconds
		}
		if !ok {
			t.Errorf("%s is in the store, not in what the gatherer received", k)
			continue
		}
		p := pts[len(pts)-1]
		if math.Abs(p.Value-w) > tolerance {
			t.Errorf("%s: last value %v, the gatherer received %v", name, p.Value, w)
		}
		// The round began before the host's answer arrived, within the
		// poll timeout.
		if p.MS > answered || p.MS < answered-1000 {
			t.Errorf("%s: last sample at %d, answer at %d: not that round's time", name, p.MS, answered)
		}
	}
	if len(got) != len(want)+1 {
		t.Errorf("%d series in the store, %d values received (+ last seen)", len(got), len(want))
	}
}

func outputNamed(s gatherer.Status, name string) map[string]float64 {
	for _, o := range s.Outputs {
		if o.Name == name {
			return o.Stats
		}
	}
	return nil
}
