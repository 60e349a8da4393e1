package graphite_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/outputs/internal/fleettest"
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

// sink is a carbon stand-in in a process of its own (so its CPU is not
// this process's): it reads every connection to its end and closes it,
// keeping nothing. carbon-cache itself would create a million whisper
// files of the fleet first.
const sink = `
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
print("listening", flush=True)
def serve(c):
    while c.recv(1 << 20): pass
    c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
`

// BenchmarkDeliver writes one-million-value rounds to a carbon stand-in
// and waits until each is taken: lines/s, bytes on the wire per value,
// and this process's CPU per round and per million values.
func BenchmarkDeliver(b *testing.B) {
	py := testenv.LookPath(b, "python3", "python3")
	port := fleettest.FreePort(b)
	cmd := exec.Command(py, "-c", sink, fmt.Sprint(port))
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 64)
	if n, _ := out.Read(buf); !strings.HasPrefix(string(buf[:n]), "listening") {
		b.Fatalf("sink: %q", buf[:n])
	}
	o := configure(b, map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", port)})
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	rounds := []sdk.Round{bigRound(base, 0, benchNodes, benchStats), bigRound(base, 1, benchNodes, benchStats)}
	rep := o.(sdk.StatsReporter)
	perRound := int64(benchNodes * (benchStats + 1))
	sent0, bytes0 := rep.Stats().Counters["sent_samples"], rep.Stats().Counters["sent_bytes"]
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rounds[i%2]
		r.Time = base.Add(time.Duration(i) * time.Second)
		if err := o.Write(context.Background(), r); err != nil {
			b.Fatal(err)
		}
		waitSent(b, o, int64(i+1)*perRound)
	}
	b.StopTimer()
	cpu := (cpuTime() - cpu0).Seconds()
	st := rep.Stats()
	sent := float64(st.Counters["sent_samples"] - sent0)
	b.ReportMetric(sent/b.Elapsed().Seconds(), "values/s")
	b.ReportMetric(float64(st.Counters["sent_bytes"]-bytes0)/sent, "wire-bytes/value")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/round")
	b.ReportMetric(cpu/sent*1e6, "cpu-s/Mvalues")
}
