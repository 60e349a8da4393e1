package plugin

import (
	"slices"
	"strings"
	"time"

	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/munin/snapshot"
)

// view is a snapshot as munin sees it: nodes in field name order, each
// with its field name and whether its values are fresh enough to fetch.
type view struct {
	nodes []viewNode
}

type viewNode struct {
	name  string
	node  *snapshot.Node
	fresh bool
}

// newView names every node of snap (all of them, so a node's name does not
// depend on which graph is drawn) and marks the nodes heard from within
// staleAfter before now. A node stamped in the future is fresh.
func newView(snap snapshot.Snapshot, now time.Time, staleAfter time.Duration) *view {
	keys := make([]NodeKey, 0, len(snap))
	for id, n := range snap {
		keys = append(keys, NodeKey{ID: id, Nickname: n.Nickname})
	}
	names := FieldNames(keys)
	nowSec := snapshot.Unix(now)
	v := &view{nodes: make([]viewNode, 0, len(snap))}
	for id, n := range snap {
		v.nodes = append(v.nodes, viewNode{name: names[id], node: n, fresh: nowSec-n.Timestamp <= staleAfter.Seconds()})
	}
	slices.SortFunc(v.nodes, func(a, b viewNode) int { return strings.Compare(a.name, b.name) })
	return v
}

// withData returns the graphs for which some node has the stat.
func (v *view) withData(graphs []*graph.Graph) []*graph.Graph {
	var out []*graph.Graph
	for _, g := range graphs {
		for _, n := range v.nodes {
			if _, ok := n.node.Values(g.Category)[g.Stat]; ok {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// appendConfig appends g's config: the header, then the field lines of
// every node that has the stat, stale or not, so that its series lives on.
func (v *view) appendConfig(b []byte, g *graph.Graph) []byte {
	b = g.AppendHeader(b)
	for _, n := range v.nodes {
		if _, ok := n.node.Values(g.Category)[g.Stat]; ok {
			b = g.AppendFieldConfig(b, n.name)
		}
	}
	return b
}

// appendValues appends "FIELD.value V" for every fresh node with the stat;
// an unknown value is "U". A stale node prints nothing, so munin shows a
// gap, never a frozen line.
func (v *view) appendValues(b []byte, g *graph.Graph) []byte {
	for _, n := range v.nodes {
		if !n.fresh {
			continue
		}
		val, ok := n.node.Values(g.Category)[g.Stat]
		if !ok {
			continue
		}
		b = append(b, n.name...)
		b = append(b, ".value "...)
		b = snapshot.AppendMunin(b, val)
		b = append(b, '\n')
	}
	return b
}
