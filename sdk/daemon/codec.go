package daemon

import (
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// StatsToProto converts stats to their wire form, as a producer's Collect
// answer carries them: for the daemons, which send stats on themselves (a
// host's answer to its gatherer).
func StatsToProto(s sdk.Stats) *proto.Stats { return codec.StatsToProto(s) }

// StatsFromProto converts wire stats back, checking every name and that
// each list of names has as many values. A bad entry is dropped and
// reported in the error; the rest is kept.
func StatsFromProto(p *proto.Stats) (sdk.Stats, error) { return codec.StatsFromProto(p) }

// ErrMalformed is returned (wrapped) by StatsDecoder.Decode for bytes
// that are not a valid encoding.
var ErrMalformed = codec.ErrMalformed

// EncodedSample returns the sample of node id whose stats are stats, an
// encoded proto.Stats, kept encoded: the node's bytes for the plugin
// protocol (a WriteRequest node, tag and length included) are made now,
// in one allocation of the exact size, and sent to every output as they
// are (stats is not kept). Its Stats is empty; Decoded fills it.
//
// stats must be well formed, with valid names, for outputs refuse a
// round with a malformed node; StatsDecoder.Canonical checks it. An
// output receives the sample as any other: decoded into Stats, as if it
// had been made with them.
func EncodedSample(id, nickname string, ts time.Time, stats []byte) sdk.NodeSample {
	return side.EncodedSample(id, nickname, ts, stats)
}

// Encoded reports whether n carries its encoding (EncodedSample): then
// its Stats are empty until Decoded.
func Encoded(n sdk.NodeSample) bool { return side.Encoded(n) }

// Decoded returns n with its Stats decoded from its encoding, as an
// output would receive it, and no longer carrying the encoding; a sample
// without one is returned as it is: for a daemon's own use (a status
// page) and its tests. The error is as an output's decoding would report
// it (invalid names are dropped, malformed stats are no stats).
func Decoded(n sdk.NodeSample) (sdk.NodeSample, error) { return side.Decoded(n) }

// DecodedRound returns r with every node that carries its encoding
// decoded (Decoded), in a new list of nodes; the first error is returned,
// with the round.
func DecodedRound(r sdk.Round) (sdk.Round, error) { return side.DecodedRound(r) }

// SharedEncoding returns r marked so that the output clients it is
// written to encode it for the plugin protocol once, together, rather
// than once each: for a daemon handing the same round to several
// outputs. The round must not be changed after.
func SharedEncoding(r sdk.Round) sdk.Round { return side.SharedEncoding(r) }

// StatsDecoder decodes encoded proto.Stats (as a host's answer carries
// them) into sdk.Stats, with StatsFromProto's checks and errors,
// interning names across calls: one string per distinct name, shared by
// every node and round, instead of one per stat. Its zero value is ready
// to use. It is safe for concurrent use; concurrent calls use separate
// shards (each with its own names).
type StatsDecoder struct{ d codec.StatsDecoder }

// Decode decodes b, an encoded proto.Stats. A malformed b is an error
// (ErrMalformed) and no stats; invalid names are dropped and reported in
// the error, as by StatsFromProto.
func (s *StatsDecoder) Decode(b []byte) (sdk.Stats, error) { return s.d.Decode(b) }

// Canonical reports whether b, an encoded proto.Stats, is exactly as the
// sdk encodes valid Stats, so that it can be sent on as it is
// (EncodedSample) and every output decodes it to the Stats that Decode
// would give, with no error: well formed; every name valid, and named
// once among counters and once among stats; as many values as names; no
// NaN or infinite float (which Stats hold as null); fields in order,
// values packed, nothing else. negative counts the counters below zero
// (when ok), which a daemon may want to drop.
//
// Names are interned as by Decode. Anything else is not canonical: such
// stats are decoded (Decode), with its errors, and encoded again from
// the Stats.
func (s *StatsDecoder) Canonical(b []byte) (negative int, ok bool) { return s.d.Canonical(b) }

// EndRound lets the decoder forget names no longer used, if they are
// many: call it once per round.
func (s *StatsDecoder) EndRound() { s.d.EndRound() }
