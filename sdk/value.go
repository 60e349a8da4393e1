package sdk

import (
	"encoding/json"

	"github.com/statsherd/statsherd/sdk/stat"
)

// Value is the value of one stat: an integer, a float, or null (unknown).
// The zero Value is null. (It is defined in sdk/stat, which needs nothing
// but the standard library.)
type Value = stat.Value

// Null is the unknown value.
var Null = stat.Null

// Int returns an integer Value.
func Int(i int64) Value { return stat.Int(i) }

// Float returns a float Value; NaN and infinities become Null.
func Float(f float64) Value { return stat.Float(f) }

// MaxNameLen is the longest stat name accepted.
const MaxNameLen = stat.MaxNameLen

// ValidName reports whether name is a valid counter or stat name:
// non-empty, at most MaxNameLen bytes of [A-Za-z0-9_.-], dot-separated
// parts none of which is empty.
func ValidName(name string) error { return stat.ValidName(name) }

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
