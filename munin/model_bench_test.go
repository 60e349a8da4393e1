package munin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/hashicorp/go-hclog"
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
