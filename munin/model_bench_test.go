package munin

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// BenchmarkWriteFleet writes rounds of n nodes × 100 stats (half counters,
// half stats, names shared by the fleet) to the snapshot, and reports what
// the output keeps between rounds: the heap in use after a GC, less the
// heap before it was configured (the round itself excluded).
func BenchmarkWriteFleet(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d/stats=100", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "stats.json")
			ctx := context.Background()
			r := benchRound(n, 100)
			before := heapInuse()
			o := New(hclog.NewNullLogger())
			if err := o.Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
				b.Fatal(err)
			}
			if err := o.Write(ctx, r); err != nil {
				b.Fatal(err)
			}
			kept := heapInuse() - before
			b.ResetTimer()
			for b.Loop() {
				if err := o.Write(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			after := heapInuse() - before
			b.ReportMetric(float64(max(kept, after))/(1<<20), "kept-MiB")
			b.ReportMetric(float64(max(kept, after))/float64(n*100), "kept-B/stat")
			if fi, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
			}
			runtime.KeepAlive(o)
			runtime.KeepAlive(r)
		})
	}
}

// heapInuse is the heap in use after a full GC.
func heapInuse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// BenchmarkLoadFleet loads a snapshot of 10,000 nodes × 100 stats at
// start (Configure), and reports what the output keeps of it.
func BenchmarkLoadFleet(b *testing.B) {
	path := filepath.Join(b.TempDir(), "stats.json")
	ctx := context.Background()
	o := New(hclog.NewNullLogger())
	if err := o.Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
		b.Fatal(err)
	}
	if err := o.Write(ctx, benchRound(10000, 100)); err != nil {
		b.Fatal(err)
	}
	o = nil
	before := heapInuse()
	var kept int64
	for b.Loop() {
		o := New(hclog.NewNullLogger())
		if err := o.Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		kept = max(kept, heapInuse()-before)
		runtime.KeepAlive(o)
		b.StartTimer()
	}
	b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
}

// BenchmarkWriteFleetGRPC writes rounds of 10,000 nodes × 100 stats over
// gRPC, as the gatherer hands them to the munin process: encoded by the
// daemon's side, decoded from the received bytes node by node (both
// sides counted).
func BenchmarkWriteFleetGRPC(b *testing.B) {
	path := filepath.Join(b.TempDir(), "stats.json")
	ctx := context.Background()
	r := benchRound(10000, 100)
	o := plugintest.Output(b, New(hclog.NewNullLogger()))
	if err := o.Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
		b.Fatal(err)
	}
	if err := o.Write(ctx, r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Write(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFoldNode folds one node of 100 stats (half counters, half
// floats) into the model a round, as the munin process does for each
// node it decodes, the names each time in another order (a host encodes
// them from maps) and the same strings (the sdk's decoder interns them):
// "maps" fills a node's Stats maps as the sdk's decoder did, then looks
// each name up again (fleet.set); "lists" takes the decoder's lists
// (sdk.NodeLists) straight into the node (fleet.setLists).
func BenchmarkFoldNode(b *testing.B) {
	const nodes = 64
	var names []string
	for j := range 50 {
		names = append(names, fmt.Sprintf("storage_server.counter_%02d", j), fmt.Sprintf("load_monitor.stat_%02d", j))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	orders := make([][]int, nodes)
	for i := range orders {
		orders[i] = rng.Perm(len(names))
	}
	run := func(b *testing.B, fold func(f *fleet, n *node, order []int, v int64)) {
		f := newFleet()
		ns := make([]node, nodes)
		for i := range ns {
			fold(f, &ns[i], orders[i], 0)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			fold(f, &ns[i%nodes], orders[(i+7)%nodes], int64(i))
			i++
		}
	}
	b.Run("maps", func(b *testing.B) {
		st := sdk.NewStats()
		run(b, func(f *fleet, n *node, order []int, v int64) {
			clear(st.Counters)
			clear(st.Stats)
			for _, j := range order {
				if j%2 == 0 {
					st.Counters[names[j]] = v
				} else {
					st.Stats[names[j]] = sdk.Float(float64(v) / 3)
				}
			}
			f.set(n, st)
		})
	})
	b.Run("lists", func(b *testing.B) {
		var l sdk.NodeLists
		run(b, func(f *fleet, n *node, order []int, v int64) {
			l.CounterNames, l.Counters, l.StatNames, l.Stats = l.CounterNames[:0], l.Counters[:0], l.StatNames[:0], l.Stats[:0]
			for _, j := range order {
				if j%2 == 0 {
					l.CounterNames, l.Counters = append(l.CounterNames, names[j]), append(l.Counters, v)
				} else {
					l.StatNames, l.Stats = append(l.StatNames, names[j]), append(l.Stats, sdk.Float(float64(v)/3))
				}
			}
			f.setLists(n, &l)
		})
	})
}
