package remote_write_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// bigRound is round i of nodes nodes with stats stats each; node n's
// counter "round.seq" is i.
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

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestQueueBound: with the receiver away, the queue reaches its bound;
// the oldest rounds are dropped and counted, memory stays flat, and when
// the receiver is back the newest rounds arrive, the count adding up.
func TestQueueBound(t *testing.T) {
	t.Parallel()
	vm := startVM(t)
	vm.stop()
	const maxBytes = 1 << 20
	o := configure(t, t.TempDir(), map[string]any{"url": vm.WriteURL(), "queue_max_bytes": maxBytes, "batch_samples": 1000})
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	const rounds, nodes, stats = 60, 300, 10
	var heap10 uint64
	for i := 0; i < rounds; i++ {
		if err := o.Write(context.Background(), bigRound(base, i, nodes, stats)); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			heap10 = heapAfterGC()
		}
	}
	heapEnd := heapAfterGC()
	st := o.(sdk.StatsReporter).Stats()
	perRound := int64(nodes * (stats + 2)) // + the counter and last-seen
	if q := st.Counters["queued_samples"]; q != rounds*perRound {
		t.Fatalf("queued %d samples, want %d", q, rounds*perRound)
	}
	dropped := st.Counters["dropped_samples"]
	if dropped == 0 || dropped%perRound != 0 {
		t.Fatalf("dropped %d samples at the bound: want whole rounds dropped (stats %v)", dropped, st)
	}
	if b, _ := st.Stats["queue_bytes"].Int64(); b > maxBytes {
		t.Errorf("queue holds %d bytes, over its bound %d", b, maxBytes)
	}
	if heapEnd > heap10+8<<20 {
		t.Errorf("heap grew from %d to %d bytes while the queue was full", heap10, heapEnd)
	}
	t.Logf("dropped %d of %d rounds; heap %d → %d bytes", dropped/perRound, rounds, heap10, heapEnd)

	vm.start()
	keptFrom := int(dropped / perRound)
	// Node 0's round counter: exactly the newest rounds, in order.
	var want []point
	for i := keptFrom; i < rounds; i++ {
		want = append(want, point{base.Add(time.Duration(i) * time.Second).UnixMilli(), float64(i)})
	}
	waitSeries(t, vm, `statsherd_round_seq_total{nickname="n00000"}`,
		series{labelKey(map[string]string{"__name__": "statsherd_round_seq_total", "nickname": "n00000", "node": fmt.Sprintf("node%028d", 0)}): want})
	st = waitStats(t, o, func(st sdk.Stats) bool {
		return st.Counters["sent_samples"]+st.Counters["dropped_samples"] == rounds*perRound
	})
	if st.Counters["rejected_samples"] != 0 {
		t.Errorf("stats %v", st)
	}
}

// TestQueueMaxAge: rounds older than queue_max_age are dropped and
// counted instead of sent; younger ones arrive.
func TestQueueMaxAge(t *testing.T) {
	t.Parallel()
	vm := startVM(t)
	o := configure(t, t.TempDir(), map[string]any{"url": vm.WriteURL(), "queue_max_age": int64(time.Hour)})
	old := time.Now().Add(-2 * time.Hour).Truncate(time.Millisecond)
	young := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for i := 0; i < 3; i++ {
		if err := o.Write(context.Background(), fleetRound(old, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if err := o.Write(context.Background(), fleetRound(young, i)); err != nil {
			t.Fatal(err)
		}
	}
	perRound := int64(2 * 3) // two nodes: counter, stat, last seen
	st := waitStats(t, o, func(st sdk.Stats) bool {
		return st.Counters["sent_samples"]+st.Counters["dropped_samples"] == 5*perRound
	})
	if st.Counters["dropped_samples"] != 3*perRound {
		t.Errorf("stats %v: want the 3 old rounds dropped", st)
	}
	waitSeries(t, vm, `{__name__=~"statsherd_(storage_server_allocate_total|load_monitor_avg_load)"}`, wantSamples(young, 2, nil))
}
