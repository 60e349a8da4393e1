package sdk

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// A daemon that receives stats already encoded (the gatherer: a host's
// answer carries a proto.Stats) can hand them to outputs as they are:
// encodedSample keeps them encoded, framed as they go on the wire, and
// the round sends those bytes to every output without a copy. Decoding
// them into maps only to encode them again would cost a few KB and
// hundreds of allocations per node per round.

// encodedSample returns the sample of node id whose stats are stats, an
// encoded proto.Stats, kept encoded: the node's bytes for the plugin
// protocol are made now, in one allocation, and sent to every output as
// they are (stats is not kept). Its Stats is empty; decoded fills it.
//
// stats must be well formed, with valid names, for outputs refuse a
// round with a malformed node; statsDecoder.Canonical checks it. An
// output receives the sample as any other: decoded into Stats, as if it
// had been made with them.
func encodedSample(id, nickname string, ts time.Time, stats []byte) NodeSample {
	t := unixNano(ts)
	size := nodeSize(id, nickname, t, len(stats))
	b := make([]byte, 0, 1+protowire.SizeBytes(size))
	b = appendNodeHead(b, id, nickname, t, size, len(stats))
	b = append(b, stats...)
	return NodeSample{ID: id, Nickname: nickname, Timestamp: ts, enc: b}
}

// carriesEncoding reports whether n carries its encoding (encodedSample):
// then its Stats are empty until decoded.
func (n NodeSample) carriesEncoding() bool { return n.enc != nil }

// decoded returns n with its Stats decoded from its encoding, as an
// output would receive it, and no longer carrying the encoding; a sample
// without one is returned as it is. The error is as an output's decoding
// would report it (invalid names are dropped, malformed stats are no
// stats).
func (n NodeSample) decoded() (NodeSample, error) {
	if n.enc == nil {
		return n, nil
	}
	var d roundDecoder
	r, err := d.decode(rawRound{n.enc})
	if len(r.Nodes) != 1 {
		return n, fmt.Errorf("node %s: decoding its encoding: %w", n.ID, err)
	}
	n.Stats, n.enc = r.Nodes[0].Stats, nil
	return n, err
}

// decoded returns r with every node that carries its encoding decoded
// (NodeSample.decoded), in a new list of nodes; the first error is
// returned, with the round.
func (r Round) decoded() (Round, error) {
	nodes := make([]NodeSample, len(r.Nodes))
	var firstErr error
	for i, n := range r.Nodes {
		var err error
		if nodes[i], err = n.decoded(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	r.Nodes, r.enc = nodes, nil
	return r, firstErr
}

// nodeSize is the size of a proto.NodeSample's encoding with stats of
// statsSize bytes.
func nodeSize(id, nickname string, t int64, statsSize int) int {
	size := 1 + protowire.SizeBytes(statsSize)
	if id != "" {
		size += 1 + protowire.SizeBytes(len(id))
	}
	if nickname != "" {
		size += 1 + protowire.SizeBytes(len(nickname))
	}
	if t != 0 {
		size += 1 + protowire.SizeVarint(uint64(t))
	}
	return size
}

// appendNodeHead appends field 2 of a WriteRequest, a node of size bytes,
// up to its stats of statsSize bytes: tag, length, id, nickname,
// timestamp and the stats' tag and length.
func appendNodeHead(b []byte, id, nickname string, t int64, size, statsSize int) []byte {
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	if id != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, id)
	}
	if nickname != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, nickname)
	}
	if t != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t))
	}
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(statsSize))
}
