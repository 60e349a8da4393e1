package graph

import (
	"testing"

	statname "github.com/statsherd/statsherd/sdk/stat"
)

// FuzzLoad checks that any graphs file either loads graphs that are valid
// for munin or is refused with diagnostics, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("graph \"app_req\" {\n  stat = \"app.requests\"\n  kind = \"counter\"\n}\n"))
	f.Add([]byte("graph \"q\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  min = -1\n  max = 1e3\n  draw = \"AREA\"\n  title = \"x $${y}\"\n}\n"))
	f.Add([]byte("graph \"a\" {\n  stat = \n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		table := NewTable()
		diags := Load(table, src, "fuzz.hcl")
		if diags.HasErrors() {
			return
		}
		for _, g := range table.Graphs() {
			if err := ValidName(g.Name); err != nil {
				t.Fatalf("loaded graph with bad name: %v", err)
			}
			if err := statname.ValidName(g.Stat); err != nil {
				t.Fatalf("loaded graph with bad stat: %v", err)
			}
			for _, l := range append(append([]string{}, g.Header...), g.Fields...) {
				for _, c := range l {
					if c == '\n' || c == '\r' {
						t.Fatalf("graph %s has a line break in %q", g.Name, l)
					}
				}
			}
		}
	})
}
