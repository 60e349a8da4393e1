package remote_write_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// The fleet of the target: 10,000 hosts × 100 stats, one million
// samples per round (plus each node's last-seen gauge).
const benchNodes, benchStats = 10000, 99 // + the round.seq counter = 100

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is this process's resident set size in bytes.
func rss() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

// BenchmarkDeliverVM writes one-million-sample rounds to a local
// VictoriaMetrics and waits until each is accepted: samples/s delivered,
// bytes on the wire per sample, and this process's CPU per round.
func BenchmarkDeliverVM(b *testing.B) {
	vm := startVM(b)
	o := configureB(b, vm.WriteURL(), nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	rounds := make([]sdk.Round, 2)
	for i := range rounds {
		rounds[i] = bigRound(base, i, benchNodes, benchStats)
	}
	rep := o.(sdk.StatsReporter)
	perRound := int64(benchNodes * (benchStats + 2))
	// Warm-up: the first round creates the million series in the store,
	// which costs VictoriaMetrics far more than samples of known series.
	warm := time.Now()
	if err := o.Write(context.Background(), rounds[1]); err != nil {
		b.Fatal(err)
	}
	waitSent(b, rep, perRound)
	first := time.Since(warm)
	sent0, bytes0 := rep.Stats().Counters["sent_samples"], rep.Stats().Counters["sent_bytes"]
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rounds[i%2]
		r.Time = base.Add(time.Duration(i+2) * time.Second)
		if err := o.Write(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		waitSent(b, rep, int64(i+2)*perRound)
	}
	b.StopTimer()
	st := rep.Stats()
	st.Counters["sent_samples"] -= sent0
	st.Counters["sent_bytes"] -= bytes0
	sent := float64(st.Counters["sent_samples"])
	b.ReportMetric(sent/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(st.Counters["sent_bytes"])/sent, "wire-bytes/sample")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/round")
	b.ReportMetric(float64(rss())/(1<<20), "rss-MiB")
	b.ReportMetric(first.Seconds(), "first-round-s")
}

// BenchmarkDrain10Rounds: the store knows the fleet's series (one round
// delivered), goes away while 10 one-million-sample rounds are queued,
// and comes back: the time to deliver them all, the queue's size and the
// RSS with one and with ten rounds queued.
func BenchmarkDrain10Rounds(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		vm := startVM(b)
		o := configureB(b, vm.WriteURL(), nil)
		rep := o.(sdk.StatsReporter)
		perRound := int64(benchNodes * (benchStats + 2))
		base := time.Now().Add(-time.Hour).Truncate(time.Second)
		r := bigRound(base, 0, benchNodes, benchStats)
		if err := o.Write(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		waitSent(b, rep, perRound)
		vm.stop()
		var one int64
		for j := 1; j <= 10; j++ {
			r.Time = base.Add(time.Duration(j) * time.Second)
			if err := o.Write(context.Background(), r); err != nil {
				b.Fatal(err)
			}
			if j == 1 {
				one = rss()
			}
		}
		qbytes, _ := rep.Stats().Stats["queue_bytes"].Int64()
		full := rss()
		vm.start()
		b.StartTimer()
		start := time.Now()
		waitSent(b, rep, 11*perRound)
		b.ReportMetric(time.Since(start).Seconds(), "drain-s")
		b.ReportMetric(float64(qbytes)/(1<<20), "queue-MiB")
		b.ReportMetric(float64(one)/(1<<20), "rss-1-round-MiB")
		b.ReportMetric(float64(full)/(1<<20), "rss-10-rounds-MiB")
		b.StopTimer()
		o.Close(context.Background())
		vm.stop()
	}
}

func waitSent(b *testing.B, rep sdk.StatsReporter, n int64) {
	for deadline := time.Now().Add(10 * time.Minute); rep.Stats().Counters["sent_samples"] < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("not delivered: %v", rep.Stats())
		}
	}
}

func configureB(b *testing.B, url string, attrs map[string]any) sdk.Output {
	b.Helper()
	cfg := `{"url": "` + url + `", "dir": "` + b.TempDir() + `", "min_backoff": 20000000, "max_backoff": 200000000}`
	o := newOutput()
	if err := o.Configure(context.Background(), sdk.Config(cfg)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { o.Close(context.Background()) })
	return o
}
