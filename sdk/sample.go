package sdk

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/statsherd/statsherd/sdk/internal/codec"
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
// round with a malformed node; codec.StatsDecoder.Canonical checks it. An
// output receives the sample as any other: decoded into Stats, as if it
// had been made with them.
func encodedSample(id, nickname string, ts time.Time, stats []byte) NodeSample {
	t := codec.UnixNano(ts)
	size := codec.NodeSize(id, nickname, t, len(stats))
	b := make([]byte, 0, 1+protowire.SizeBytes(size))
	b = codec.AppendNodeHead(b, id, nickname, t, size, len(stats))
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
	r, err := d.decode(codec.Raw{n.enc})
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
