package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/munin/graph"
)

// goodNodes are two well-formed nodes; each case of TestBadValueCostsOneField
// adds one node with one thing wrong.
const goodNodes = `"goodaaaaxgru5adktjjhqwdbbaoi3hu3z": {"timestamp": 1763999990.0, "nickname": "storage-01", "stats": {"counters": {"storage_server.allocate": 100, "storage_server.get": 900}, "stats": {"storage_server.consumed": 1234, "load_monitor.avg_load": 0.25}}},
"goodbbbbqmn2w6ojlfh7bt6ecnw3dsxey": {"timestamp": 1763999980.5, "nickname": "storage-02", "stats": {"counters": {"storage_server.allocate": 200, "storage_server.get": 1800}, "stats": {"storage_server.consumed": 2000, "load_monitor.avg_load": 0.5}}}`

// TestBadValueCostsOneField: a value of the wrong type, a malformed node,
// a null category or a byte-order mark leave the good nodes' output as it
// is without them; a bad value is "U" in its field, still listed in
// config; stderr names the problem once; the exit code is 0.
func TestBadValueCostsOneField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		bom  bool
		node string // the extra node, named "bad" (field bad_badx)
		// want: lines of the bad node expected in the multigraph
		// dirtyconfig output (graph name, then line); stderr: a part of
		// the warning.
		want   []string
		stderr string
	}{
		{"bool", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": {"storage_server.allocate": true, "storage_server.get": 5}, "stats": {}}}`,
			[]string{"tahoe_storage_operations_allocate bad_badx.value U", "tahoe_storage_operations_get bad_badx.value 5"},
			`values that are not numbers or null, read as unknown: 1; the first in %s, line 4, column 114: node "badxbadxbadx": counters "storage_server.allocate" is a boolean`},
		{"string", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": {}, "stats": {"storage_server.consumed": "12", "load_monitor.avg_load": 0.75}}}`,
			[]string{"tahoe_runtime_load_avg bad_badx.value 0.75", "tahoe_storage_consumed bad_badx.value U"},
			`stats "storage_server.consumed" is a string`},
		{"list", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": {"storage_server.get": [1, 2]}, "stats": {}}}`,
			[]string{"tahoe_storage_operations_get bad_badx.value U"},
			`counters "storage_server.get" is an array`},
		{"object", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": {"storage_server.get": {"n": 1}}, "stats": {}}}`,
			[]string{"tahoe_storage_operations_get bad_badx.value U"},
			`counters "storage_server.get" is an object`},
		{"bad value in a stat no graph uses", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": {"x.y": true, "storage_server.get": 3}, "stats": {"z": ["q"]}}}`,
			[]string{"tahoe_storage_operations_get bad_badx.value 3"}, ""},
		{"non-string nickname", false, `{"timestamp": 1763999990.0, "nickname": 42, "stats": {"counters": {"storage_server.get": 3}, "stats": {}}}`,
			nil, `malformed nodes, skipped: 1; the first in %s, line 4, column 57: node "badxbadxbadx": nickname is a number, not a string`},
		{"null category", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": null, "stats": {"storage_server.consumed": 9}}}`,
			[]string{"tahoe_storage_consumed bad_badx.value 9"},
			`counters or stats that are not objects, skipped: 1; the first in %s, line 4, column 86: node "badxbadxbadx": counters is null, not an object`},
		{"node not an object", false, `[1, 2]`, nil, `node "badxbadxbadx" is an array, not an object`},
		{"timestamp not a number", false, `{"timestamp": "now", "nickname": "bad", "stats": {"counters": {"storage_server.get": 3}, "stats": {}}}`,
			nil, `node "badxbadxbadx": timestamp is a string, not a number`},
		{"stats null", false, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": null}`,
			nil, `node "badxbadxbadx": stats is null, not an object`},
		{"byte-order mark", true, `{"timestamp": 1763999990.0, "nickname": "bad", "stats": {"counters": {"storage_server.get": 3}, "stats": {}}}`,
			[]string{"tahoe_storage_operations_get bad_badx.value 3"}, ""},
	}
	dir := t.TempDir()
	goodPath := filepath.Join(dir, "good.json")
	if err := os.WriteFile(goodPath, []byte("{\n"+goodNodes+"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envCapMulti: "1", envCapDirty: "1", EnvStatsFile: goodPath}
	good := runPlugin(t, env, graph.Multigraph, "config")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.Repeat("x", i)+"bad.json")
			data := "{\n" + goodNodes + ",\n" + `"badxbadxbadx": ` + tt.node + "\n}\n"
			if tt.bom {
				data = "\ufeff" + data
			}
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			e := map[string]string{envCapMulti: "1", envCapDirty: "1", EnvStatsFile: path}
			if code := Run([]string{graph.Multigraph, "config"}, envMap(e), fixtureNow, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d, want 0; stderr %s", code, stderr.String())
			}
			// The bad node's lines, by graph; the rest must be the good output.
			var rest []string
			var bad []string
			current := ""
			for _, l := range strings.SplitAfter(stdout.String(), "\n") {
				if g, ok := strings.CutPrefix(l, "multigraph "); ok {
					current = strings.TrimSpace(g)
				}
				if strings.HasPrefix(l, "bad_badx.") {
					if strings.HasPrefix(l, "bad_badx.value ") {
						bad = append(bad, current+" "+strings.TrimSpace(l))
					}
					continue
				}
				rest = append(rest, l)
			}
			if got := strings.Join(rest, ""); got != good {
				t.Errorf("the good nodes' output changed:\n%s", diff(good, got))
			}
			if strings.Join(bad, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("the bad node's values:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(tt.want, "\n"))
			}
			if tt.want != nil && !strings.Contains(stdout.String(), "bad_badx.label bad_badx\n") {
				t.Error("the bad node's fields are not in config")
			}
			want := tt.stderr
			if strings.Contains(want, "%s") {
				want = strings.Replace(want, "%s", path, 1)
			}
			switch {
			case want == "" && stderr.Len() > 0:
				t.Errorf("stderr %q, want nothing", stderr.String())
			case !strings.Contains(stderr.String(), want):
				t.Errorf("stderr %q\nwant it to contain %q", stderr.String(), want)
			case strings.Count(stderr.String(), "\n") > 1:
				t.Errorf("stderr has more than one line: %q", stderr.String())
			}
		})
	}
}
