package host

import "github.com/statsherd/statsherd/sdk"

// part is what one source contributed to a poll: the host itself, a
// producer, or the statsd store.
type part struct {
	source string
	stats  sdk.Stats
}

// conflict is a name that two sources emitted in one poll.
type conflict struct {
	Name   string
	Kind   sdk.Kind
	Winner string
	Loser  string
}

// merge merges parts into one answer. A name emitted by several parts is
// taken from the first part that has it: parts come in a fixed order (the
// host's own stats, then producers in config order, then registered
// producers by name, then statsd), so the same source wins every poll.
// Counters and stats are separate name spaces.
func merge(parts []part) (sdk.Stats, []conflict) {
	var nc, ns int
	for _, p := range parts {
		nc += len(p.stats.Counters)
		ns += len(p.stats.Stats)
	}
	out := sdk.Stats{Counters: make(map[string]int64, nc), Stats: make(map[string]sdk.Value, ns)}
	var conflicts []conflict
	for i, p := range parts {
		for k, v := range p.stats.Counters {
			if _, ok := out.Counters[k]; ok {
				conflicts = append(conflicts, conflict{Name: k, Kind: sdk.Counter, Winner: winner(parts[:i], k, true), Loser: p.source})
				continue
			}
			out.Counters[k] = v
		}
		for k, v := range p.stats.Stats {
			if _, ok := out.Stats[k]; ok {
				conflicts = append(conflicts, conflict{Name: k, Kind: sdk.Stat, Winner: winner(parts[:i], k, false), Loser: p.source})
				continue
			}
			out.Stats[k] = v
		}
	}
	return out, conflicts
}

// winner is the first of parts that has the counter (or stat) name.
func winner(parts []part, name string, counter bool) string {
	for _, p := range parts {
		var ok bool
		if counter {
			_, ok = p.stats.Counters[name]
		} else {
			_, ok = p.stats.Stats[name]
		}
		if ok {
			return p.source
		}
	}
	return ""
}
