// Package graph is the table of munin graphs statsherd-munin can draw: the
// 26 graphs of Tahoe-LAFS's tahoe_stats plugin, kept line for line so that
// munin's existing history carries on, plus graphs an operator defines in
// an HCL file.
package graph

import (
	"fmt"
	"slices"
	"strings"

	"github.com/statsherd/statsherd/munin/snapshot"
)

// Multigraph is the service name under which statsherd-munin prints every
// graph in one run (munin's multigraph protocol). No graph may be named so.
const Multigraph = "statsherd_multigraph"

// NamePlaceholder stands for the field name in Graph.Fields, as in Tahoe's
// Python format strings.
const NamePlaceholder = "%(name)s"

// Graph is one munin graph: one series per node that has the stat.
type Graph struct {
	// Name is the munin service name: the name of the plugin symlink.
	Name string
	// Stat is the counter or stat graphed, e.g. "storage_server.allocate".
	Stat     string
	Category snapshot.Category
	// Header holds the graph's config lines, "graph_title ...", in order.
	Header []string
	// Fields holds the config lines of each field without the "FIELD."
	// prefix, e.g. "label %(name)s", "type DERIVE".
	Fields []string
	// Origin says where the graph was defined: "tahoe_stats", or the HCL
	// block's position.
	Origin string
}

// AppendHeader appends the graph's header lines to b.
func (g *Graph) AppendHeader(b []byte) []byte {
	for _, l := range g.Header {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

// AppendFieldConfig appends the config lines of the field named name.
func (g *Graph) AppendFieldConfig(b []byte, name string) []byte {
	for _, l := range g.Fields {
		b = append(b, name...)
		b = append(b, '.')
		for {
			i := strings.Index(l, NamePlaceholder)
			if i < 0 {
				break
			}
			b = append(b, l[:i]...)
			b = append(b, name...)
			l = l[i+len(NamePlaceholder):]
		}
		b = append(b, l...)
		b = append(b, '\n')
	}
	return b
}

// Table is a set of graphs, by name.
type Table struct {
	graphs []*Graph
	byName map[string]*Graph
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{byName: map[string]*Graph{}} }

// Add adds g; a name already taken, or not a valid service name, is an error.
func (t *Table) Add(g *Graph) error {
	if err := ValidName(g.Name); err != nil {
		return err
	}
	if old, ok := t.byName[g.Name]; ok {
		return fmt.Errorf("graph %q is already defined (%s)", g.Name, old.Origin)
	}
	i, _ := slices.BinarySearchFunc(t.graphs, g.Name, func(a *Graph, name string) int { return strings.Compare(a.Name, name) })
	t.graphs = slices.Insert(t.graphs, i, g)
	t.byName[g.Name] = g
	return nil
}

// Lookup returns the graph named name, or nil.
func (t *Table) Lookup(name string) *Graph { return t.byName[name] }

// Graphs returns every graph, sorted by name. The slice is the table's own.
func (t *Table) Graphs() []*Graph { return t.graphs }

// Wants lists the values a snapshot read must keep to draw graphs, each
// once, in the order of graphs.
func Wants(graphs ...*Graph) []snapshot.Want {
	var ws []snapshot.Want
	seen := map[snapshot.Want]bool{}
	for _, g := range graphs {
		w := snapshot.Want{Category: g.Category, Name: g.Stat}
		if !seen[w] {
			seen[w] = true
			ws = append(ws, w)
		}
	}
	return ws
}

// ValidName checks a graph name: munin service names are made of
// [A-Za-z0-9_] and do not start with a digit; Multigraph is reserved.
func ValidName(name string) error {
	if name == "" {
		return fmt.Errorf("empty graph name")
	}
	if name == Multigraph {
		return fmt.Errorf("graph name %q is reserved for the multigraph link", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return fmt.Errorf("graph name %q has %q at byte %d; munin service names are made of [A-Za-z0-9_] and do not start with a digit", name, c, i)
	}
	return nil
}
