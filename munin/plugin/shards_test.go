package plugin

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/munin/snapshot"
)

// allOutput is every graph's config and fetch, and the multigraph link's
// config with values, as one text.
func allOutput(t *testing.T, env map[string]string) string {
	t.Helper()
	table, err := graph.Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, g := range table.Graphs() {
		for _, mode := range []string{"config", "fetch"} {
			fmt.Fprintf(&all, "### %s %s\n", g.Name, mode)
			all.WriteString(runPluginStderr(t, env, g.Name, mode))
		}
	}
	e := map[string]string{envCapMulti: "1", envCapDirty: "1"}
	for k, v := range env {
		e[k] = v
	}
	all.WriteString("### multigraph\n")
	all.WriteString(runPluginStderr(t, e, graph.Multigraph, "config"))
	return all.String()
}

// TestShards: two shards read by one statsherd-munin (statsfile names
// both): the output equals that of one snapshot holding both, where a node
// in both is its newest sample, whichever file has it.
func TestShards(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/snapshots/grid.json")
	if err != nil {
		t.Fatal(err)
	}
	grid, err := snapshot.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(grid))
	for id := range grid {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	a, b, both := snapshot.Snapshot{}, snapshot.Snapshot{}, snapshot.Snapshot{}
	for i, id := range ids {
		if i%2 == 0 {
			a[id] = grid[id]
		} else {
			b[id] = grid[id]
		}
		both[id] = grid[id]
	}
	// A node moved between shards: its older sample stays behind in the
	// other shard, with other values and nickname. Once in the later
	// file, once in the earlier one.
	older := func(n *snapshot.Node) *snapshot.Node {
		o := &snapshot.Node{Nickname: "was-" + n.Nickname, Timestamp: n.Timestamp - 90, Counters: map[string]snapshot.Value{}, Stats: map[string]snapshot.Value{}}
		for k := range n.Counters {
			o.Counters[k] = snapshot.Int(1)
		}
		for k := range n.Stats {
			o.Stats[k] = snapshot.Int(2)
		}
		o.Counters["uploader.files_uploaded"] = snapshot.Int(3) // a stat the newer sample may lack
		return o
	}
	moved1, moved2 := "xgru5adktjjhqwdbbaoi3hu3zq3cvgme", "qmn2w6ojlfh7bt6ecnw3dsxeyqx6vzpu"
	for _, id := range []string{moved1, moved2} {
		if a[id] != nil {
			b[id] = older(a[id])
		} else {
			a[id] = older(b[id])
		}
	}
	dir := t.TempDir()
	write := func(name string, s snapshot.Snapshot) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, snapshot.Marshal(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pa, pb, pboth := write("a.json", a), write("b.json", b), write("both.json", both)
	want := allOutput(t, map[string]string{EnvStatsFile: pboth})
	if strings.Contains(want, "was_") {
		t.Fatal("the combined snapshot has an older sample")
	}
	for _, statsfile := range []string{pa + " " + pb, pb + "\t" + pa, "  " + pa + "\n" + pb + " "} {
		got := allOutput(t, map[string]string{EnvStatsFile: statsfile})
		if got != want {
			t.Errorf("statsfile %q: output differs from the combined snapshot's:\n%s", statsfile, diff(want, got))
		}
	}

	// A shard that is missing costs its nodes only, with a warning.
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"tahoe_storage_operations_allocate", "config"}, envMap(map[string]string{EnvStatsFile: pa + " " + filepath.Join(dir, "gone.json")}), fixtureNow, &stdout, &stderr); code != 0 {
		t.Fatalf("one shard missing: exit %d: %s", code, stderr.String())
	}
	if alone := runPlugin(t, map[string]string{EnvStatsFile: pa}, "tahoe_storage_operations_allocate", "config"); stdout.String() != alone {
		t.Errorf("one shard missing: output differs from the other shard's alone:\n%s", diff(alone, stdout.String()))
	}
	if !strings.Contains(stderr.String(), "gone.json: no such file or directory") || !strings.Contains(stderr.String(), "its nodes are left out") {
		t.Errorf("one shard missing: stderr %q", stderr.String())
	}
}

// TestShardBounds (issue 25, item 8): a sample stamped far in the future
// does not win over the other shards (it is left out, with a warning),
// and a shard that is not a regular file (/dev/zero) costs its nodes
// only, without reading it.
func TestShardBounds(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/snapshots/grid.json")
	if err != nil {
		t.Fatal(err)
	}
	grid, err := snapshot.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for k := range grid {
		id = k
		break
	}
	future := snapshot.Snapshot{id: &snapshot.Node{Nickname: "from-the-future", Timestamp: 1e18,
		Counters: map[string]snapshot.Value{"uploader.files_uploaded": snapshot.Int(7)}, Stats: map[string]snapshot.Value{}}}
	dir := t.TempDir()
	pg, pf := filepath.Join(dir, "grid.json"), filepath.Join(dir, "future.json")
	os.WriteFile(pg, data, 0o644)
	os.WriteFile(pf, snapshot.Marshal(future), 0o644)
	want := runPlugin(t, map[string]string{EnvStatsFile: pg}, "tahoe_storage_operations_allocate", "config")
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"tahoe_storage_operations_allocate", "config"}, envMap(map[string]string{EnvStatsFile: pg + " " + pf}), fixtureNow, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.String() != want || !strings.Contains(stderr.String(), "in the future, left out: 1") {
		t.Errorf("a future sample: stderr %q\n%s", stderr.String(), diff(want, stdout.String()))
	}
	stdout.Reset()
	stderr.Reset()
	if code := Run([]string{"tahoe_storage_operations_allocate", "config"}, envMap(map[string]string{EnvStatsFile: pg + " /dev/zero"}), fixtureNow, &stdout, &stderr); code != 0 {
		t.Fatalf("/dev/zero as a shard: exit %d: %s", code, stderr.String())
	}
	if stdout.String() != want || !strings.Contains(stderr.String(), "not a regular file") {
		t.Errorf("/dev/zero as a shard: stderr %q", stderr.String())
	}
}
