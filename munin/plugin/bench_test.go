package plugin

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/munin/snapshot"
)

// BigSnapshot returns a snapshot of n nodes shaped like a Tahoe grid's:
// every Tahoe stat plus filler, about 3.5 kB per node, all fresh at
// fixtureNow.
func bigSnapshot(tb testing.TB, n int) []byte {
	tb.Helper()
	table, err := graph.Tahoe()
	if err != nil {
		tb.Fatal(err)
	}
	s := snapshot.Snapshot{}
	for i := 0; i < n; i++ {
		node := &snapshot.Node{Nickname: fmt.Sprintf("storage-%04d", i), Timestamp: snapshot.Unix(fixtureNow) - float64(i%60),
			Counters: map[string]snapshot.Value{}, Stats: map[string]snapshot.Value{}}
		for _, g := range table.Graphs() {
			node.Values(g.Category)[g.Stat] = snapshot.Int(int64(i * 1000))
		}
		for j := 0; j < 22; j++ {
			node.Counters[fmt.Sprintf("storage_server.latencies.op_%02d.count", j)] = snapshot.Int(int64(i*j + 12345))
			node.Stats[fmt.Sprintf("storage_server.latencies.op_%02d.99_9_percentile", j)] = snapshot.Float(float64(i*j) / 7)
		}
		s[fmt.Sprintf("%032d", i)] = node
	}
	return snapshot.Marshal(s)
}

func benchRun(b *testing.B, nodes int, env map[string]string, args ...string) {
	path := filepath.Join(b.TempDir(), "stats.json")
	data := bigSnapshot(b, nodes)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	e := map[string]string{EnvStatsFile: path}
	for k, v := range env {
		e[k] = v
	}
	getenv := envMap(e)
	for b.Loop() {
		if code := Run(args, getenv, fixtureNow, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(len(data))/1e6, "MB")
}

// BenchmarkFetch1000 is one fetch of one graph on a 1,000-node snapshot.
func BenchmarkFetch1000(b *testing.B) {
	benchRun(b, 1000, nil, "tahoe_storage_consumed")
}

// BenchmarkConfig1000 is one config of one graph on a 1,000-node snapshot.
func BenchmarkConfig1000(b *testing.B) {
	benchRun(b, 1000, nil, "tahoe_storage_operations_allocate", "config")
}

// BenchmarkMultigraph1000 is one multigraph fetch of all 26 graphs.
func BenchmarkMultigraph1000(b *testing.B) {
	benchRun(b, 1000, map[string]string{envCapMulti: "1"}, graph.Multigraph)
}

// BenchmarkMultigraphDirtyconfig1000 is one multigraph config with values
// (what munin asks for each round after cap dirtyconfig).
func BenchmarkMultigraphDirtyconfig1000(b *testing.B) {
	benchRun(b, 1000, map[string]string{envCapMulti: "1", envCapDirty: "1"}, graph.Multigraph, "config")
}
