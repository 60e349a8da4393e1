package influxdb_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// The fleet of the target: 10,000 hosts × 100 stats, one million
// values per round.
const benchNodes, benchStats = 10000, 99 // + the round.seq counter = 100

// bigRound is round i of nodes nodes of stats stats and one counter, as
// remote_write's benchmark has it.
func bigRound(base time.Time, i, nodes, stats int) sdk.Round {
	at := base.Add(time.Duration(i) * time.Second)
	r := sdk.Round{Time: at, Nodes: make([]sdk.NodeSample, nodes)}
	for n := range r.Nodes {
		st := sdk.Stats{Counters: map[string]int64{"round.seq": int64(i)}, Stats: make(map[string]sdk.Value, stats)}
		for s := 0; s < stats; s++ {
			st.Stats[fmt.Sprintf("load.stat_%03d", s)] = sdk.Float(float64(i*1000 + n + s))
		}
		r.Nodes[n] = sdk.NodeSample{ID: fmt.Sprintf("node%028d", n), Nickname: fmt.Sprintf("n%05d", n), Timestamp: at, Stats: st}
	}
	return r
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDeliverInfluxd writes one-million-value rounds to a local
// influxd 1.6.7 and waits until each is accepted: values/s, bytes on the
// wire per value (gzip'd), and this process's CPU per round and per
// million values. The first round (the store creates the fleet's 20,000
// series) is not counted.
func BenchmarkDeliverInfluxd(b *testing.B) {
	s := startInflux(b)
	s.mustQuery("", `CREATE DATABASE "statsherd"`)
	o, logs := configure(b, map[string]any{"url": s.URL(), "database": "statsherd"})
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	rounds := []sdk.Round{bigRound(base, 0, benchNodes, benchStats), bigRound(base, 1, benchNodes, benchStats)}
	perRound := int64(benchNodes * (benchStats + 1))
	if err := o.Write(context.Background(), rounds[1]); err != nil {
		b.Fatal(err)
	}
	warm := time.Now()
	waitStats(b, o, logs, func(st sdk.Stats) bool { return st.Counters["sent_samples"] >= perRound })
	first := time.Since(warm)
	rep := o.(sdk.StatsReporter)
	sent0, bytes0 := rep.Stats().Counters["sent_samples"], rep.Stats().Counters["sent_bytes"]
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rounds[i%2]
		r.Time = base.Add(time.Duration(i+2) * time.Second)
		if err := o.Write(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		waitStats(b, o, logs, func(st sdk.Stats) bool { return st.Counters["sent_samples"] >= int64(i+2)*perRound })
	}
	b.StopTimer()
	cpu := (cpuTime() - cpu0).Seconds()
	st := rep.Stats()
	if st.Counters["rejected_samples"] != 0 {
		b.Fatalf("refused: %v\n%s", st, logs)
	}
	sent := float64(st.Counters["sent_samples"] - sent0)
	b.ReportMetric(sent/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(st.Counters["sent_bytes"]-bytes0)/sent, "wire-bytes/value")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/round")
	b.ReportMetric(cpu/sent*1e6, "cpu-s/Mvalues")
	b.ReportMetric(first.Seconds(), "first-round-s")
}
