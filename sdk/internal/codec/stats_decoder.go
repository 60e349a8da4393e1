package codec

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/statsherd/statsherd/sdk/stat"
)

// StatsDecoder decodes encoded proto.Stats (as a host's answer carries
// them) into Stats, with StatsFromProto's checks and errors, interning
// names across calls: one string per distinct name, shared by every node
// and round, instead of one per stat. It is safe for concurrent use;
// concurrent calls use separate shards (each with its own names).
type StatsDecoder struct {
	once   sync.Once
	shards []Decoder
	next   atomic.Uint32
}

// Decode decodes b, an encoded proto.Stats. A malformed b is an error
// and no stats; invalid names are dropped and reported in the error, as
// by StatsFromProto.
func (s *StatsDecoder) Decode(b []byte) (stat.Stats, error) {
	d := s.lock()
	defer d.Unlock()
	return d.DecodeStats(b)
}

// lock returns a shard, locked: a free one if any.
func (s *StatsDecoder) lock() *Decoder {
	s.once.Do(s.init)
	n := uint32(len(s.shards))
	i := s.next.Add(1) % n
	d := &s.shards[i]
	for j := uint32(1); !d.TryLock(); j++ {
		if j == n {
			d.Lock() // every shard busy: wait for this one
			break
		}
		d = &s.shards[(i+j)%n]
	}
	return d
}

// init makes one shard per CPU, at most maxShards: each holds its own
// copy of the names.
func (s *StatsDecoder) init() {
	s.shards = make([]Decoder, min(max(runtime.GOMAXPROCS(0), 1), maxShards))
}

const maxShards = 8

// EndRound lets the decoder forget names no longer used, if they are
// many: call it once per round.
func (s *StatsDecoder) EndRound() {
	s.once.Do(s.init)
	for i := range s.shards {
		d := &s.shards[i]
		d.Lock()
		d.names.endRound()
		d.Unlock()
	}
}
