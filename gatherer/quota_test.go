package gatherer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/sdk"
)

// realisticStats is n stats with long names, as a Tahoe storage node
// sends them (about 700, many over 60 bytes): half counters, half stats.
func realisticStats(n int) sdk.Stats {
	st := sdk.NewStats()
	for i := range n {
		name := fmt.Sprintf("storage_server.latencies.allocate.%04d.percentile_99_9.allocated_bytes_per_share", i)
		if i%2 == 0 {
			st.Counters[name] = int64(i)
		} else {
			st.Stats[name] = sdk.Int(int64(i))
		}
	}
	return st
}

// TestStatsQuota: max_stats_per_node counts stat names, not bytes, and an
// answer with exactly the limit passes; one name more is refused.
func TestStatsQuota(t *testing.T) {
	t.Parallel()
	const limit = 700
	cfg := testConfig(t)
	cfg.Limits.MaxStatsPerNode = limit
	out := newOutput("o")
	g := startGatherer(t, cfg, out)
	atLimit, over := realisticStats(limit), realisticStats(limit+1)
	if b, _ := atLimit.MarshalJSON(); len(b) < 20*limit {
		t.Fatalf("the honest answer is %d bytes: it must be far over the limit counted in bytes", len(b))
	}
	_, honest, _ := startHost(t, g.Furl(), "honest", func(context.Context) sdk.Stats { return atLimit })
	_, greedy, _ := startHost(t, g.Furl(), "greedy", func(context.Context) sdk.Stats { return over })
	refused := func(id string) bool { return hasLogLine(g.logs.String(), "kind=too_many_stats", "node="+id) }
	waitFor(t, "a host refused", func() bool { return refused(greedy.ID) || refused(honest.ID) })
	if refused(honest.ID) {
		t.Fatalf("the honest host, with exactly %d stats, was refused:\n%s", limit, g.logs.String())
	}
	r := roundWith(t, out, honest.ID)
	for _, n := range r.Nodes {
		switch n.ID {
		case honest.ID:
			if got := len(n.Stats.Counters) + len(n.Stats.Stats); got != limit {
				t.Errorf("the honest host has %d stats in the round, want %d", got, limit)
			}
		case greedy.ID:
			t.Errorf("the greedy host (%d stats, quota %d) is in the round", limit+1, limit)
		}
	}
	if logs := g.logs.String(); !strings.Contains(logs, fmt.Sprintf("answer has %d stats, over this gatherer's quota of %d", limit+1, limit)) || refused(honest.ID) {
		t.Errorf("refusals logged wrong: want the greedy host's only:\n%s", logs)
	}
}
