// Package snapshot is the stats.json file that statsherd's munin output
// writes and the statsherd-munin plugin reads, in exactly the format
// Tahoe-LAFS's stats gatherer wrote:
//
//	{"<node id>": {"timestamp": 1764000000.5, "nickname": "storage-01",
//	               "stats": {"counters": {"storage_server.allocate": 12},
//	                         "stats": {"load_monitor.avg_load": 0.01}}}}
//
// The timestamp is when the gatherer last heard from the node, in seconds
// since the Unix epoch (Python's time.time()). Values are integers, floats
// or null. Python's json module writes NaN and ±Infinity as bare words;
// the parser accepts them, as unknown values, so a Tahoe-written file reads.
package snapshot

import (
	"math"
	"time"
)

// Category is one of the two groups of values of a node.
type Category uint8

const (
	// Counters go only up: work done since the node started.
	Counters Category = iota
	// Stats are instantaneous values.
	Stats
)

// String is the category's key in the file: "counters" or "stats".
func (c Category) String() string {
	if c == Counters {
		return "counters"
	}
	return "stats"
}

// ParseCategory maps "counters" and "stats" to a Category.
func ParseCategory(s string) (Category, bool) {
	switch s {
	case "counters":
		return Counters, true
	case "stats":
		return Stats, true
	}
	return 0, false
}

// Node is the latest sample of one node.
type Node struct {
	// Nickname is the name the node's operator gave it.
	Nickname string
	// Timestamp is when the gatherer last heard from the node, in seconds
	// since the Unix epoch; 0 if the file had none.
	Timestamp float64
	Counters  map[string]Value
	Stats     map[string]Value
}

// Values returns the node's counters or stats.
func (n *Node) Values(c Category) map[string]Value {
	if c == Counters {
		return n.Counters
	}
	return n.Stats
}

// Time returns Timestamp as a time.Time.
func (n *Node) Time() time.Time { return FromUnix(n.Timestamp) }

// Age returns how long before now the node was last heard from.
func (n *Node) Age(now time.Time) time.Duration {
	return now.Sub(n.Time())
}

// Snapshot is the whole file: the latest sample of every node, by node id.
type Snapshot map[string]*Node

// Unix converts t to seconds since the epoch with microsecond precision, as
// Python's time.time() gives them.
func Unix(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

// FromUnix converts seconds since the epoch back to a time.Time. Values
// outside the range of time.Time saturate.
func FromUnix(sec float64) time.Time {
	const limit = 1 << 62 / 1e9 // stays inside int64 nanoseconds
	switch {
	case math.IsNaN(sec):
		return time.Unix(0, 0)
	case sec > limit:
		sec = limit
	case sec < -limit:
		sec = -limit
	}
	whole := math.Floor(sec)
	return time.Unix(int64(whole), int64((sec-whole)*1e9))
}
