package sdk

import (
	"context"
	"time"
)

// NodeSample is one node's answer to one poll.
type NodeSample struct {
	// ID is the node id, derived from the node's key (lowercase base32).
	ID string
	// Nickname is the name the node's operator gave it.
	Nickname string
	// Timestamp is when the node's answer arrived at the gatherer.
	Timestamp time.Time
	Stats     Stats

	// enc, if set, is the sample encoded for the plugin protocol, as
	// field 2 of a proto.WriteRequest (tag and length included), and
	// Stats is empty: see encodedSample.
	enc []byte
}

// Round is one poll round of the gatherer: the answers of every node that
// answered, and the gatherer's own stats as one more node.
type Round struct {
	Time  time.Time
	Nodes []NodeSample

	// enc is the round's encoding shared by every output it is written
	// to (withSharedEncoding); nil encodes it for each.
	enc *roundEncoding
}

// Output receives the gatherer's poll rounds.
//
// Lifecycle: Describe may be called at any time, even before Configure.
// Configure is called once, before the first Write. Write is called once per
// round, never concurrently with itself, under a deadline carried by ctx;
// rounds arrive in order, though under back-pressure the gatherer may
// coalesce several rounds into one. Close is called last, at shutdown; an
// output flushes what it holds there.
type Output interface {
	Describe(ctx context.Context) (Info, error)
	Configure(ctx context.Context, cfg Config) error
	Write(ctx context.Context, round Round) error
	Close(ctx context.Context) error
}

// StatsReporter is an optional interface of an Output: the stats it keeps
// about itself (a queue's depth, requests sent, samples dropped, …).
// Stats is called after each Write and returns at once (no IO); the
// stats travel back with the Write's answer, and the gatherer reports
// them among its own, as statsherd.output.NAME.STAT, and on its status
// page. Names follow the usual rules; counters count since the output
// started.
type StatsReporter interface {
	Stats() Stats
}
