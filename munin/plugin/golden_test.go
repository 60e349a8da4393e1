package plugin

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/munin/graph"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtureNow is the fixed "now" of the fixture snapshots (2025-11-24 16:00 UTC).
var fixtureNow = time.Unix(1764000000, 0)

// envMap turns a map into Run's env function.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// runPlugin runs the plugin called as name with args and returns stdout,
// failing the test on a non-zero exit or any word on stderr.
func runPlugin(t *testing.T, env map[string]string, name string, args ...string) string {
	t.Helper()
	out := runPluginStderr(t, env, name, args...)
	if i := strings.Index(out, stderrMark); i >= 0 {
		t.Errorf("%s %v: unexpected stderr %q", name, args, out[i+len(stderrMark):])
	}
	return out
}

// stderrMark separates stdout from stderr in a golden file.
const stderrMark = "### stderr\n"

// runPluginStderr runs the plugin called as name with args and returns
// stdout, then stderrMark and stderr if there is any, failing the test on
// a non-zero exit.
func runPluginStderr(t *testing.T, env map[string]string, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(append([]string{"/etc/munin/plugins/" + name}, args...), envMap(env), fixtureNow, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("%s %v: exit %d, stderr: %s", name, args, code, stderr.String())
	}
	if stderr.Len() > 0 {
		return stdout.String() + stderrMark + stderr.String()
	}
	return stdout.String()
}

func checkGolden(t *testing.T, path string, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./munin/... -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n%s", path, diff(string(want), got))
	}
}

// diff shows the first differing lines.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n want %q\n  got %q", i+1, wl, gl)
		}
	}
	return "(same lines, different ending)"
}

// TestGolden runs config and fetch of every graph, the multigraph link,
// dirtyconfig, suggest and autoconf on each fixture snapshot, and compares
// the output (and stderr, after "### stderr") with testdata/golden. Field
// names are per character unless the case says bytes.
func TestGolden(t *testing.T) {
	t.Parallel()
	table, err := graph.Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := filepath.Glob("testdata/snapshots/*.json")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, fx := range fixtures {
		name := strings.TrimSuffix(filepath.Base(fx), ".json")
		env := map[string]string{EnvStatsFile: fx}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, mode := range []string{"config", "fetch"} {
				t.Run(mode, func(t *testing.T) {
					var all strings.Builder
					for _, g := range table.Graphs() {
						fmt.Fprintf(&all, "### %s %s\n", g.Name, mode)
						all.WriteString(runPluginStderr(t, env, g.Name, mode))
					}
					checkGolden(t, filepath.Join("testdata/golden", name, mode+".txt"), all.String())
				})
			}
			cases := []struct {
				name string
				env  map[string]string
				link string
				args []string
			}{
				{"plain-run", nil, "tahoe_storage_consumed", nil},
				{"py-suffix", nil, "tahoe_storage_consumed.py", []string{"fetch"}},
				{"dirtyconfig", map[string]string{envCapDirty: "1"}, "tahoe_storage_operations_allocate", []string{"config"}},
				{"multigraph-config", map[string]string{envCapMulti: "1"}, graph.Multigraph, []string{"config"}},
				{"multigraph-fetch", map[string]string{envCapMulti: "1"}, graph.Multigraph, nil},
				{"multigraph-dirtyconfig", map[string]string{envCapMulti: "1", envCapDirty: "1"}, graph.Multigraph, []string{"config"}},
				{"stale-after-1h", map[string]string{EnvStaleAfter: "1h"}, "tahoe_storage_consumed", nil},
				{"stale-after-45s", map[string]string{EnvStaleAfter: "45"}, "tahoe_storage_consumed", nil},
				{"operator-config", map[string]string{EnvGraphs: "testdata/graphs.hcl"}, "myapp_requests", []string{"config"}},
				{"operator-fetch", map[string]string{EnvGraphs: "testdata/graphs.hcl"}, "myapp_requests", nil},
				{"operator-stat-config", map[string]string{EnvGraphs: "testdata/graphs.hcl", envCapDirty: "1"}, "myapp_peak", []string{"config"}},
				{"suggest", nil, "tahoe_storage_consumed", []string{"suggest"}},
				{"suggest-wildcard", nil, "tahoe_", []string{"suggest"}},
				{"bytes-multigraph-dirtyconfig", map[string]string{envCapMulti: "1", envCapDirty: "1", EnvFieldNames: "bytes"}, graph.Multigraph, []string{"config"}},
				{"autoconf", nil, "tahoe_storage_consumed", []string{"autoconf"}},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e := map[string]string{EnvStatsFile: fx}
					for k, v := range c.env {
						e[k] = v
					}
					got := runPluginStderr(t, e, c.link, c.args...)
					checkGolden(t, filepath.Join("testdata/golden", name, c.name+".txt"), got)
				})
			}
		})
	}
}
