package munin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/munin/snapshot"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var t0 = time.Unix(1764000000, 500_000_000)

func config(t testing.TB, m map[string]any) sdk.Config {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newOutput returns the output as the gatherer sees it, over gRPC.
func newOutput(t *testing.T) sdk.Output {
	t.Helper()
	return plugintest.Output(t, New(hclog.NewNullLogger()))
}

func sample(id, nick string, ts time.Time, counters map[string]int64, stats map[string]sdk.Value) sdk.NodeSample {
	return sdk.NodeSample{ID: id, Nickname: nick, Timestamp: ts, Stats: sdk.Stats{Counters: counters, Stats: stats}}
}

func readSnapshot(t *testing.T, path string) snapshot.Snapshot {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./munin/... -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (rerun with -update if intended)\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	info, err := newOutput(t).Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "munin" {
		t.Errorf("name %q", info.Name)
	}
	got := map[string]sdk.Attribute{}
	for _, a := range info.Config {
		got[a.Name] = a
	}
	want := []struct {
		name string
		typ  sdk.AttrType
		def  any
	}{{"path", sdk.String, "stats.json"}, {"mode", sdk.String, "0644"}, {"forget_after", sdk.Duration, nil}, {"forget_new_after", sdk.Duration, nil}}
	if len(got) != len(want) {
		t.Errorf("attributes %v", info.Config)
	}
	for _, w := range want {
		a, ok := got[w.name]
		if !ok || a.Type != w.typ || a.Default != w.def {
			t.Errorf("attribute %s = %+v, want type %s default %v", w.name, a, w.typ, w.def)
		}
	}
}

// TestWrite writes two rounds and compares the file with a golden file:
// the node absent from the second round keeps its entry.
func TestWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stats.json")
	o := newOutput(t)
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path, "mode": "0640"})); err != nil {
		t.Fatal(err)
	}
	r1 := sdk.Round{Time: t0, Nodes: []sdk.NodeSample{
		sample("xgru5adktjjhqwdbbaoi3hu3zq3cvgme", "storage-01", t0,
			map[string]int64{"storage_server.allocate": 12, "storage_server.get": 5},
			map[string]sdk.Value{"load_monitor.avg_load": sdk.Float(0.01), "storage_server.consumed": sdk.Int(123456789), "x.unknown": sdk.Null}),
		sample("qmn2w6ojlfh7bt6ecnw3dsxeyqx6vzpu", "über \"2\"", t0, nil, map[string]sdk.Value{"load_monitor.avg_load": sdk.Float(math.NaN()), "x.whole": sdk.Float(2)}),
	}}
	if err := o.Write(ctx, r1); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(time.Minute)
	r2 := sdk.Round{Time: t1, Nodes: []sdk.NodeSample{
		sample("xgru5adktjjhqwdbbaoi3hu3zq3cvgme", "storage-01", t1.Add(-time.Second),
			map[string]int64{"storage_server.allocate": 15, "storage_server.get": 9}, map[string]sdk.Value{"load_monitor.avg_load": sdk.Float(0.02)}),
		sample("gath3rerhxe5v2k2o7wvg4l6s5wqg6ab", "gatherer", time.Time{}, map[string]int64{"gatherer.rounds": 2}, nil),
	}}
	if err := o.Write(ctx, r2); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "testdata/two-rounds.json", got)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want only stats.json (temporary files left?)", len(entries))
	}
	if err := o.Close(ctx); err != nil {
		t.Error(err)
	}
}

// TestConfigureLoads: nodes in the existing file, not yet back, keep their
// entry and timestamp.
func TestConfigureLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "stats.json")
	old := `{"oldnode": {"timestamp": 1700000000.25, "nickname": "old", "stats": {"counters": {"c": 1}, "stats": {"s": NaN}}}, "back": {"timestamp": 1.0, "nickname": "b", "stats": {"counters": {}, "stats": {}}}}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	o := newOutput(t)
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path})); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(ctx, sdk.Round{Time: t0, Nodes: []sdk.NodeSample{sample("back", "b2", t0, map[string]int64{"c": 2}, nil)}}); err != nil {
		t.Fatal(err)
	}
	s := readSnapshot(t, path)
	if n := s["oldnode"]; n == nil || n.Timestamp != 1700000000.25 || n.Nickname != "old" || n.Counters["c"] != snapshot.Int(1) || !n.Stats["s"].IsNull() {
		t.Errorf("old node: %+v", n)
	}
	if n := s["back"]; n == nil || n.Nickname != "b2" || n.Timestamp != snapshot.Unix(t0) || n.Counters["c"] != snapshot.Int(2) {
		t.Errorf("node back: %+v", n)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want the default 0644", fi.Mode().Perm())
	}
}

func TestConfigureErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	corruptData := []byte(`{"node": {"timestamp": 17000`)
	if err := os.WriteFile(corrupt, corruptData, 0o644); err != nil {
		t.Fatal(err)
	}
	isDir := filepath.Join(dir, "adir.json")
	if err := os.Mkdir(isDir, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"corrupt file", map[string]any{"path": corrupt}, "the existing snapshot " + corrupt + " is corrupt: line 1, column 29: expected ',' or '}' in an object, found the end of the file; restore it from a backup, or delete it if no backup is available (the file was left untouched)"},
		{"unreadable file", map[string]any{"path": isDir}, "reading the existing snapshot: read " + isDir + ": is a directory"},
		{"missing directory", map[string]any{"path": filepath.Join(dir, "no", "stats.json")}, "the snapshot's directory does not take new files"},
		{"bad mode", map[string]any{"path": filepath.Join(dir, "s.json"), "mode": "rw-r--r--"}, `mode "rw-r--r--" is not octal`},
		{"mode too big", map[string]any{"path": filepath.Join(dir, "s.json"), "mode": "01777"}, `mode "01777" is not octal`},
		{"negative forget_after", map[string]any{"path": filepath.Join(dir, "s.json"), "forget_after": -1}, "forget_after -1ns is negative"},
		{"empty path", map[string]any{"path": ""}, "path is empty"},
		{"unknown attribute", map[string]any{"path": filepath.Join(dir, "s.json"), "colour": "red"}, `unknown field "colour"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := newOutput(t).Configure(context.Background(), config(t, tt.cfg))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Configure = %v\nwant %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(corrupt); !bytes.Equal(b, corruptData) {
		t.Errorf("the corrupt file was changed: %q", b)
	}
}

// TestRelativePath: a relative path is relative to the working directory
// at Configure, the gatherer's base directory.
func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	o := New(hclog.NewNullLogger())
	ctx := context.Background()
	if err := o.Configure(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(ctx, sdk.Round{Time: t0, Nodes: []sdk.NodeSample{sample("a", "a", t0, nil, nil)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultPath)); err != nil {
		t.Errorf("no %s in the working directory: %v", DefaultPath, err)
	}
}

func TestForgetAfter(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stats.json")
	o := newOutput(t)
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path, "forget_after": int64(time.Hour)})); err != nil {
		t.Fatal(err)
	}
	nodes := []sdk.NodeSample{sample("a", "a", t0, nil, nil), sample("b", "b", t0.Add(30*time.Minute), nil, nil)}
	if err := o.Write(ctx, sdk.Round{Time: t0.Add(30 * time.Minute), Nodes: nodes}); err != nil {
		t.Fatal(err)
	}
	if s := readSnapshot(t, path); len(s) != 2 {
		t.Fatalf("%d nodes, want 2", len(s))
	}
	// 61 minutes after a's last sample: a is forgotten, b kept.
	if err := o.Write(ctx, sdk.Round{Time: t0.Add(61 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	s := readSnapshot(t, path)
	if _, ok := s["a"]; ok || len(s) != 1 {
		t.Errorf("nodes %v, want only b", s)
	}
}

// TestForgetNewAfter (issue 25, item 4): a node heard from once is
// forgotten after forget_new_after, one heard from for hours only after
// forget_after.
func TestForgetNewAfter(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stats.json")
	o := newOutput(t)
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path, "forget_after": int64(48 * time.Hour), "forget_new_after": int64(time.Hour)})); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		at := t0.Add(time.Duration(i) * time.Hour)
		nodes := []sdk.NodeSample{sample("old", "old", at, nil, nil)}
		if i == 3 {
			nodes = append(nodes, sample("once", "once", at, nil, nil))
		}
		if err := o.Write(ctx, sdk.Round{Time: at, Nodes: nodes}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Write(ctx, sdk.Round{Time: t0.Add(5 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s := readSnapshot(t, path)
	if _, ok := s["once"]; ok || len(s) != 1 {
		t.Errorf("nodes %v, want only old", s)
	}
}

// TestAtomic: a reader polling the file while rounds are written always
// finds a whole snapshot, never a partial or missing file.
func TestAtomic(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stats.json")
	o := New(hclog.NewNullLogger())
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path})); err != nil {
		t.Fatal(err)
	}
	round := func(i int) sdk.Round {
		r := sdk.Round{Time: t0.Add(time.Duration(i) * time.Second)}
		for n := 0; n < 50; n++ {
			r.Nodes = append(r.Nodes, sample(fmt.Sprintf("node%03d", n), "n", r.Time, map[string]int64{"c": int64(i)}, map[string]sdk.Value{"s": sdk.Int(int64(i))}))
		}
		return r
	}
	if err := o.Write(ctx, round(0)); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, bad atomic.Int64
	var firstErr atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			b, err := os.ReadFile(path)
			if err == nil {
				var s snapshot.Snapshot
				if s, err = snapshot.Parse(b); err == nil && len(s) != 50 {
					err = fmt.Errorf("%d nodes", len(s))
				}
			}
			reads.Add(1)
			if err != nil {
				bad.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}
	}()
	for i := 1; i <= 100; i++ {
		if err := o.Write(ctx, round(i)); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() > 0 {
		t.Errorf("%d of %d reads failed, first: %v", bad.Load(), reads.Load(), firstErr.Load())
	}
}

func TestWriteBeforeConfigure(t *testing.T) {
	t.Parallel()
	if err := New(hclog.NewNullLogger()).Write(context.Background(), sdk.Round{}); err == nil {
		t.Error("Write before Configure succeeded")
	}
}

// BenchmarkWrite10000 writes a round of 10,000 nodes with 20 stats each.
func BenchmarkWrite10000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "stats.json")
	o := New(hclog.NewNullLogger())
	ctx := context.Background()
	if err := o.Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
		b.Fatal(err)
	}
	r := benchRound(10000, 20)
	b.ResetTimer()
	for b.Loop() {
		if err := o.Write(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "MB")
	}
}

// benchRound is a round of n nodes, each with half counters, half stats.
func benchRound(n, stats int) sdk.Round {
	r := sdk.Round{Time: t0, Nodes: make([]sdk.NodeSample, n)}
	for i := range r.Nodes {
		s := sdk.NewStats()
		for j := 0; j < stats/2; j++ {
			s.Counters[fmt.Sprintf("storage_server.counter_%02d", j)] = int64(i*1000 + j)
			s.Stats[fmt.Sprintf("load_monitor.stat_%02d", j)] = sdk.Float(float64(i) / float64(j+1))
		}
		r.Nodes[i] = sdk.NodeSample{ID: fmt.Sprintf("%032d", i), Nickname: fmt.Sprintf("storage-%05d", i), Timestamp: t0, Stats: s}
	}
	return r
}

// BenchmarkConfigure10000 loads a 10,000-node snapshot, as at gatherer start.
func BenchmarkConfigure10000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "stats.json")
	ctx := context.Background()
	o := New(hclog.NewNullLogger())
	if err := o.Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
		b.Fatal(err)
	}
	if err := o.Write(ctx, benchRound(10000, 20)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := New(hclog.NewNullLogger()).Configure(ctx, config(b, map[string]any{"path": path})); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWriteLabels: a series with labels is written under its folded name,
// as a tagged statsd line always was; one whose folded name another
// series has, or is too long for a name, is left out, so the snapshot
// stays one statsherd-munin reads.
func TestWriteLabels(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stats.json")
	o := newOutput(t)
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path})); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("v", 128)
	r := sdk.Round{Time: t0, Nodes: []sdk.NodeSample{sample("xgru5adktjjhqwdbbaoi3hu3zq3cvgme", "web", t0,
		map[string]int64{
			sdk.MustSeries("http.requests", sdk.L("status", "500"), sdk.L("route", "/login")): 3,
			"x.a_1": 1, sdk.MustSeries("x", sdk.L("a", "1")): 2,
			sdk.MustSeries("y", sdk.L("a", long), sdk.L("b", long)): 4,
		},
		map[string]sdk.Value{sdk.MustSeries("disk.free", sdk.L("device", "sda1")): sdk.Int(7)})}}
	if err := o.Write(ctx, r); err != nil {
		t.Fatal(err)
	}
	snap := readSnapshot(t, path)
	n := snap["xgru5adktjjhqwdbbaoi3hu3zq3cvgme"]
	var names []string
	for k := range n.Counters {
		names = append(names, k)
	}
	for k := range n.Stats {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"disk.free.device_sda1", "http.requests.route__login.status_500", "x.a_1"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}
