package munin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/sdk"
)

// tahoeRound is a round of n nodes shaped like a Tahoe grid's: every stat
// of the 26 Tahoe graphs plus 44 more, about 3.5 kB per node in the file.
func tahoeRound(tb testing.TB, n int, now time.Time) sdk.Round {
	tb.Helper()
	table, err := graph.Tahoe()
	if err != nil {
		tb.Fatal(err)
	}
	r := sdk.Round{Time: now, Nodes: make([]sdk.NodeSample, n)}
	for i := range r.Nodes {
		s := sdk.NewStats()
		for _, g := range table.Graphs() {
			if g.Category.String() == "counters" {
				s.Counters[g.Stat] = int64(i * 1000)
			} else {
				s.Stats[g.Stat] = sdk.Float(float64(i) / 3)
			}
		}
		for j := 0; j < 22; j++ {
			s.Counters[fmt.Sprintf("storage_server.latencies.op_%02d.count", j)] = int64(i*j + 12345)
			s.Stats[fmt.Sprintf("storage_server.latencies.op_%02d.99_9_percentile", j)] = sdk.Float(float64(i*j) / 7)
		}
		r.Nodes[i] = sdk.NodeSample{ID: fmt.Sprintf("%032d", i), Nickname: fmt.Sprintf("storage-%04d", i), Timestamp: now, Stats: s}
	}
	return r
}

// benchBinary times one run of the real statsherd-munin binary, process
// start included, on a 1,000-node snapshot written by the munin output.
func benchBinary(b *testing.B, link string, env []string, args ...string) {
	dir := b.TempDir()
	statsfile := filepath.Join(dir, "stats.json")
	o := New(hclog.NewNullLogger())
	ctx := context.Background()
	if err := o.Configure(ctx, config(b, map[string]any{"path": statsfile})); err != nil {
		b.Fatal(err)
	}
	if err := o.Write(ctx, tahoeRound(b, 1000, time.Now())); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(statsfile)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, link)
	if err := os.Symlink(pluginBin, path); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(path, args...)
		cmd.Env = append([]string{"statsfile=" + statsfile}, env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(fi.Size())/1e6, "MB")
	// The CPU time of the plugin process alone, as munin-node pays it.
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
}

// BenchmarkBinaryFetch1000 is one munin fetch of one graph.
func BenchmarkBinaryFetch1000(b *testing.B) {
	benchBinary(b, "tahoe_storage_consumed", nil)
}

// BenchmarkBinaryMultigraph1000 is one multigraph fetch of all 26 graphs.
func BenchmarkBinaryMultigraph1000(b *testing.B) {
	benchBinary(b, graph.Multigraph, []string{"MUNIN_CAP_MULTIGRAPH=1"})
}

// BenchmarkBinaryMultigraphDirtyconfig1000 is one multigraph config with
// values, what munin asks each round after "cap dirtyconfig".
func BenchmarkBinaryMultigraphDirtyconfig1000(b *testing.B) {
	benchBinary(b, graph.Multigraph, []string{"MUNIN_CAP_MULTIGRAPH=1", "MUNIN_CAP_DIRTYCONFIG=1"}, "config")
}
