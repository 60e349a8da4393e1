package sdk

import "github.com/statsherd/statsherd/sdk/stat"

// Labels arrived with version 2 of the plugin protocol (and of the
// host–gatherer and register protocols). A peer that predates them gets
// every series folded into a flat name (stat.Fold), as a tagged statsd
// line has always been named, so it sees what it would have seen before.

// FoldStats returns s with every series that has labels folded into a
// flat name (stat.Fold); s itself when none has. A series whose folded
// name is not a valid name (too long) is dropped; so is one whose folded
// name another series of s already has.
func FoldStats(s Stats) Stats {
	if !hasLabels(s) {
		return s
	}
	out := Stats{Counters: make(map[string]int64, len(s.Counters)), Stats: make(map[string]Value, len(s.Stats))}
	for k, v := range s.Counters {
		if f, ok := fold(k); ok {
			if _, dup := out.Counters[f]; !dup {
				out.Counters[f] = v
			}
		}
	}
	for k, v := range s.Stats {
		if f, ok := fold(k); ok {
			if _, dup := out.Stats[f]; !dup {
				out.Stats[f] = v
			}
		}
	}
	return out
}

func fold(k string) (string, bool) {
	if !stat.HasLabels(k) {
		return k, true
	}
	f := stat.Fold(k)
	return f, stat.ValidName(f) == nil
}

func hasLabels(s Stats) bool {
	for k := range s.Counters {
		if stat.HasLabels(k) {
			return true
		}
	}
	for k := range s.Stats {
		if stat.HasLabels(k) {
			return true
		}
	}
	return false
}

// Folded returns r with every node's stats folded (FoldStats), nodes that
// carry their encoding decoded first: for an output that predates labels.
func (r Round) Folded() Round {
	nodes := make([]NodeSample, len(r.Nodes))
	for i, n := range r.Nodes {
		if n.enc != nil {
			n, _ = n.Decoded() // checked canonical when it was made
		}
		n.Stats = FoldStats(n.Stats)
		nodes[i] = n
	}
	r.Nodes, r.enc = nodes, nil
	return r
}
