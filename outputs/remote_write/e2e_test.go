package remote_write_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/outputs/internal/fleettest"
)

// statsherd is the binary under test, built from the working tree.
var statsherd string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"}))
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
	gdir := fleettest.NewGatherer(t, statsherd, "300ms", fmt.Sprintf(`
output "remote_write" {
  url         = %q
  min_backoff = "50ms"
  max_backoff = "300ms"
}`, vm.WriteURL()))
	g := fleettest.StartGatherer(t, statsherd, gdir)
	ids := map[string]string{}
	for _, nick := range []string{"storage-01", "storage-02"} {
		_, ids[nick] = fleettest.StartHost(t, statsherd, nick, gdir)
	}
	// written waits until the running gatherer has written n rounds that
	// carry both hosts, and returns the rounds written.
	written := func(g *fleettest.Gatherer, n int) uint64 {
		var first, last uint64
		fleettest.WaitFor(t, fmt.Sprintf("%d rounds with both hosts", n), g.Stderr.String, func() bool {
			s := g.Status()
			if first == 0 && s.LastRound.Answers == 2 {
				first = s.LastRound.Seq
			}
			last = s.LastRound.WrittenSeq
			return first > 0 && last >= first+uint64(n)
		})
		return last
	}
	run1 := written(g, 5)
	if st := g.OutputStats("remote_write"); st["queue_samples"] == 0 || st["sent_samples"] != 0 {
		t.Errorf("receiver down, yet output stats %v", st)
	}
	g.Stop(syscall.SIGKILL)
	g = fleettest.StartGatherer(t, statsherd, gdir)
	run2 := written(g, 5)
	t.Logf("rounds written while the receiver was down: %d before kill -9, %d after", run1, run2)

	back := time.Now()
	vm.start()
	t.Logf("receiver back in %v", time.Since(back))
	fleettest.WaitFor(t, "the queue drained", g.Stderr.String, func() bool {
		st := g.OutputStats("remote_write")
		return st != nil && st["sent_samples"] > 0 && st["queue_samples"] == 0
	})

	t.Logf("queue drained %v after the receiver was started", time.Since(back))
	// The store shows what it accepted within a moment: wait until both
	// runs are in, then check everything.
	var rounds series
	fleettest.WaitFor(t, "both runs in the store", vm.log, func() bool {
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
	// The gatherer keeps writing rounds while the test reads the store:
	// the hosts' samples are judged up to the last round read above.
	var gathererRounds []fleettest.Point
	var lastRound int64
	for _, pts := range byNode(t, rounds) {
		for _, p := range pts {
			gathererRounds = append(gathererRounds, fleettest.Point(p))
			lastRound = max(lastRound, p.MS)
		}
	}
	polls, err := vm.query(`statsherd_statsherd_polls_total`)
	if err != nil {
		t.Fatal(err)
	}
	hosts := byNode(t, polls)
	byNick := map[string][]fleettest.Point{}
	for nick, id := range ids {
		byNick[nick] = nil
		for _, p := range hosts[id] {
			if p.MS <= lastRound {
				byNick[nick] = append(byNick[nick], fleettest.Point(p))
			}
		}
	}
	fleettest.CheckOutage(t, gathererRounds, run1, run2, byNick)
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
	adir, bdir := fleettest.NewGatherer(t, statsherd, interval.String(), out), fleettest.NewGatherer(t, statsherd, interval.String(), out)
	a, b := fleettest.StartGatherer(t, statsherd, adir), fleettest.StartGatherer(t, statsherd, bdir)
	_, id := fleettest.StartHost(t, statsherd, "storage-01", adir, bdir)
	both := func() bool {
		return len(a.Status().Hosts) == 1 && len(b.Status().Hosts) == 1
	}
	fleettest.WaitFor(t, "the host connected to both", a.Stderr.String, both)
	seqA := a.Status().LastRound.Seq
	fleettest.WaitFor(t, "a few rounds of both", a.Stderr.String, func() bool { return a.Status().LastRound.WrittenSeq >= seqA+6 })
	a.Stop(syscall.SIGTERM)
	stopped := time.Now().UnixMilli()
	seqB := b.Status().LastRound.Seq
	fleettest.WaitFor(t, "rounds of the other alone", b.Stderr.String, func() bool {
		s := b.Status()
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
	gdir := fleettest.NewGatherer(t, statsherd, "300ms", fmt.Sprintf(`
output "munin" { path = "stats.json" }
output "remote_write" {
  url         = %q
  min_backoff = "50ms"
  max_backoff = "300ms"
}`, prom.WriteURL()))
	g := fleettest.StartGatherer(t, statsherd, gdir)
	host, id := fleettest.StartHost(t, statsherd, "storage-07", gdir)
	fleettest.WaitFor(t, "a few rounds with the host", g.Stderr.String, func() bool {
		s := g.Status()
		return s.LastRound.Answers == 1 && s.LastRound.WrittenSeq > 3
	})
	host.Stop(syscall.SIGTERM)
	fleettest.WaitFor(t, "the host dropped", g.Stderr.String, func() bool { return len(g.Status().Hosts) == 0 })
	seq := g.Status().LastRound.Seq
	fleettest.WaitFor(t, "later rounds queued and the queue drained", g.Stderr.String, func() bool {
		s := g.Status()
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
	fleettest.WaitFor(t, "the host's last answer in Prometheus", prom.log, func() bool {
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
