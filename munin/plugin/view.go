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
	// slot maps a graph's stat to its place in each sample's Values.
	slot map[wantKey]int
}

type wantKey struct {
	c    snapshot.Category
	stat string
}

type viewNode struct {
	name  string
	s     *snapshot.Sample
	fresh bool
}

// newView names every node of samples (all of them, so a node's name does
// not depend on which graph is drawn) and marks the nodes heard from
// within staleAfter before now. A node stamped in the future is fresh.
// ws are the wants samples were read with.
func newView(samples []snapshot.Sample, ws []snapshot.Want, naming Naming, now time.Time, staleAfter time.Duration) *view {
	keys := make([]NodeKey, len(samples))
	for i := range samples {
		keys[i] = NodeKey{ID: samples[i].ID, Nickname: samples[i].Nickname}
	}
	names := FieldNames(keys, naming)
	nowSec := snapshot.Unix(now)
	v := &view{nodes: make([]viewNode, len(samples)), slot: make(map[wantKey]int, len(ws))}
	for i, w := range ws {
		v.slot[wantKey{w.Category, w.Name}] = i
	}
	for i := range samples {
		s := &samples[i]
		v.nodes[i] = viewNode{name: names[s.ID], s: s, fresh: nowSec-s.Timestamp <= staleAfter.Seconds()}
	}
	slices.SortFunc(v.nodes, func(a, b viewNode) int { return strings.Compare(a.name, b.name) })
	return v
}

// value returns node n's value of g's stat.
func (v *view) value(n *viewNode, g *graph.Graph) snapshot.Number {
	i, ok := v.slot[wantKey{g.Category, g.Stat}]
	if !ok {
		return snapshot.Number{}
	}
	return n.s.Values[i]
}

// withData returns the graphs for which some node has the stat.
func (v *view) withData(graphs []*graph.Graph) []*graph.Graph {
	var out []*graph.Graph
	for _, g := range graphs {
		for i := range v.nodes {
			if v.value(&v.nodes[i], g).Has {
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
	for i := range v.nodes {
		if v.value(&v.nodes[i], g).Has {
			b = g.AppendFieldConfig(b, v.nodes[i].name)
		}
	}
	return b
}

// appendValues appends "FIELD.value V" for every fresh node with the stat;
// an unknown value is "U". A stale node prints nothing, so munin shows a
// gap, never a frozen line.
func (v *view) appendValues(b []byte, g *graph.Graph) []byte {
	i, ok := v.slot[wantKey{g.Category, g.Stat}]
	if !ok {
		return b
	}
	for _, n := range v.nodes {
		val := n.s.Values[i]
		if !n.fresh || !val.Has {
			continue
		}
		b = append(b, n.name...)
		b = append(b, ".value "...)
		b = val.AppendMunin(b)
		b = append(b, '\n')
	}
	return b
}
