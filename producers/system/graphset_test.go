//go:build linux

package system

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/munin/snapshot"
	"github.com/statsherd/statsherd/sdk"
)

// graphSet is the machine graph set shipped for statsherd-munin.
const graphSet = "../../munin/graphs/system.hcl"

// TestGraphSet: the shipped munin graph set loads beside Tahoe's graphs,
// every graph draws a stat this producer emits, as the kind it is, and a
// collect of this machine has a value for each.
func TestGraphSet(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(graphSet)
	if err != nil {
		t.Fatal(err)
	}
	table, err := graph.Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	if diags := graph.Load(table, src, graphSet); diags.HasErrors() {
		t.Fatal(diags)
	}
	kinds := map[string]sdk.Kind{}
	for _, s := range statInfo() {
		kinds[s.Name] = s.Kind
	}
	p := configured(t, map[string]any{})
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Logf("collect: %v", err)
	}
	// munin sees the labelled series under their folded names.
	st = sdk.FoldStats(st)
	const root = ".mountpoint__" // the label mountpoint="/", folded
	_, rootMeasured := st.Stats["system.filesystem.size_bytes"+root]
	n := 0
	for _, g := range table.Graphs() {
		if !strings.Contains(g.Origin, "system.hcl") {
			continue
		}
		n++
		want := sdk.Stat
		if g.Category == snapshot.Counters {
			want = sdk.Counter
		}
		described := strings.TrimSuffix(g.Stat, root)
		if k, ok := kinds[described]; !ok || k != want {
			t.Errorf("graph %s draws %s (%s): the system producer emits no such %s", g.Name, g.Stat, g.Category, want)
		}
		var has bool
		if want == sdk.Counter {
			_, has = st.Counters[g.Stat]
		} else {
			_, has = st.Stats[g.Stat]
		}
		if !has && (rootMeasured || !strings.HasSuffix(g.Stat, root)) {
			t.Errorf("graph %s: this machine's collect has no %s", g.Name, g.Stat)
		}
	}
	if n < 30 {
		t.Errorf("the graph set has %d graphs", n)
	}
}
