package poll

import (
	"errors"
	"sync"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// quotas are the limits on what a host sends, and where refusals are
// counted.
type quotas struct {
	maxStats int
	refusals *refusal.Tally
	// names decodes answers' stats, interning names fleet-wide.
	names daemon.StatsDecoder
	// frames are buffers answers are read into (*[]byte): an answer's
	// stats are copied out (the node's bytes, or decoded) before readOne
	// returns, so a few buffers serve every host in turn, rather than one
	// new buffer per host per round.
	frames sync.Pool
}

// maxPooledFrame bounds the buffers kept in quotas.frames: an answer of
// about 2,000 stats; larger ones are left to the collector.
const maxPooledFrame = 64 << 10

// frame returns a buffer to read an answer into.
func (q *quotas) frame() *[]byte {
	if fb, ok := q.frames.Get().(*[]byte); ok {
		return fb
	}
	return new([]byte)
}

// recycle gives back fb, holding b if b was read into it or replaced it.
func (q *quotas) recycle(fb *[]byte, b []byte) {
	if cap(b) > cap(*fb) {
		*fb = b[:0]
	}
	if cap(*fb) <= maxPooledFrame {
		q.frames.Put(fb)
	}
}

// errQuota is an answer refused for a quota; told says the host was told
// already (and the connection is being closed).
type errQuota struct {
	kind, reason string
	told         bool
}

func (e *errQuota) Error() string { return e.reason }

// sample makes a node's sample of the stats of its answer. Stats that
// need no change (the usual case: daemon.StatsDecoder.Canonical, and no
// negative counter) stay encoded as they came, copied once into the
// node's bytes for the outputs (daemon.EncodedSample), so the answer's frame
// can go and no maps are made. Others are decoded, with names interned
// fleet-wide; invalid names (invalid says which) and negative counters
// (neg counts them) are dropped, and the rest is encoded again when sent.
// A malformed encoding is an error.
func (q *quotas) sample(id, nickname string, at time.Time, stats []byte) (s sdk.NodeSample, invalid error, neg int, err error) {
	if n, ok := q.names.Canonical(stats); ok && n == 0 {
		return daemon.EncodedSample(id, nickname, at, stats), nil, 0, nil
	}
	st, err := q.names.Decode(stats)
	if errors.Is(err, daemon.ErrMalformed) {
		return sdk.NodeSample{}, nil, 0, err
	}
	neg = dropNegative(st.Counters)
	return sdk.NodeSample{ID: id, Nickname: nickname, Timestamp: at, Stats: st}, err, neg, nil
}

// dropNegative removes negative counters (counters only grow) and
// returns how many it removed.
func dropNegative(c map[string]int64) int {
	n := 0
	for k, v := range c {
		if v < 0 {
			delete(c, k)
			n++
		}
	}
	return n
}
