package sdk

import "github.com/statsherd/statsherd/sdk/stat"

// Labels arrived with version 2 of the plugin protocol (and of the
// host–gatherer and register protocols). A peer that predates them gets
// every series folded into a flat name (stat.Fold), as a tagged statsd
// line has always been named, so it sees what it would have seen before.

// FoldStats returns s with every series that has labels folded into a
// flat name (stat.FoldStats).
func FoldStats(s Stats) Stats { return stat.FoldStats(s) }

// folded returns r with every node's stats folded (FoldStats), nodes that
// carry their encoding decoded first: for an output that predates labels.
func (r Round) folded() Round {
	nodes := make([]NodeSample, len(r.Nodes))
	for i, n := range r.Nodes {
		if n.enc != nil {
			n, _ = n.decoded() // checked canonical when it was made
		}
		n.Stats = FoldStats(n.Stats)
		nodes[i] = n
	}
	r.Nodes, r.enc = nodes, nil
	return r
}
