package stat

import "encoding/json"

// Stats is what a producer reports and what a host answers to a poll.
// Counters only go up (work done since start); Stats are instantaneous.
type Stats struct {
	Counters map[string]int64 `json:"counters"`
	Stats    map[string]Value `json:"stats"`
}

// NewStats returns empty, non-nil Stats.
func NewStats() Stats {
	return Stats{Counters: map[string]int64{}, Stats: map[string]Value{}}
}

// Len is the number of counters and stats together.
func (s Stats) Len() int { return len(s.Counters) + len(s.Stats) }

// MarshalJSON writes {"counters": {...}, "stats": {...}}, with empty objects
// (never null) for empty maps, keys sorted.
func (s Stats) MarshalJSON() ([]byte, error) {
	type plain struct {
		Counters map[string]int64 `json:"counters"`
		Stats    map[string]Value `json:"stats"`
	}
	p := plain{Counters: s.Counters, Stats: s.Stats}
	if p.Counters == nil {
		p.Counters = map[string]int64{}
	}
	if p.Stats == nil {
		p.Stats = map[string]Value{}
	}
	return json.Marshal(p)
}
