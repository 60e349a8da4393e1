package sdk

import (
	"errors"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// An output plugin keeps a round's WriteRequest as gRPC received it
// (codec.ServerCodec) and decodes it straight into the Round, with names
// interned across rounds (codec.Decoder): see sdk/internal/codec.

// roundDecoder decodes WriteRequests into Rounds, interning names across
// rounds. It is safe for concurrent use.
type roundDecoder struct {
	codec.Decoder
	ns    NodeSample // the node handed to a NodeWriter
	lists NodeLists  // its stats, for RoundNodes.Lists
}

// decode decodes an encoded proto.WriteRequest. As roundFromProto, it
// returns the round with invalid names dropped and the first such error;
// a malformed message is an error and no round.
func (d *roundDecoder) decode(in codec.Raw) (Round, error) {
	d.Lock()
	defer d.Unlock()
	defer d.EndRound()
	r, err := d.decodeRound(in)
	if errors.Is(err, codec.ErrFallback) {
		r, err = d.decodeRound(in.Joined())
	}
	return r, err
}

func (d *roundDecoder) decodeRound(in codec.Raw) (Round, error) {
	var r Round
	var firstErr error
	err := d.Each(in, &r.Time, func(i int, v []byte) error {
		ns, err := d.node(v)
		if errors.Is(err, codec.ErrMalformed) {
			return codec.NodeErr(i, err)
		}
		if err != nil && firstErr == nil {
			firstErr = codec.NamedNodeErr(ns.ID, err)
		}
		if r.Nodes == nil {
			r.Nodes = make([]NodeSample, 0, 16)
		}
		r.Nodes = append(r.Nodes, ns)
		return nil
	})
	if err != nil {
		return Round{}, err
	}
	if r.Nodes == nil {
		r.Nodes = []NodeSample{}
	}
	return r, firstErr
}

func (d *roundDecoder) node(b []byte) (NodeSample, error) {
	h, stats, err := d.Header(b)
	ns := NodeSample{ID: h.ID, Nickname: h.Nickname, Timestamp: h.Timestamp}
	if err != nil {
		return ns, err
	}
	ns.Stats, err = d.DecodeStats(stats)
	return ns, err
}

// rawOf returns the bytes of a WriteRequest whose fields are all unknown
// (one decoded by a codec that left it undecoded).
func rawOf(w *proto.WriteRequest) []byte {
	if w == nil || w.RoundUnixNano != 0 || len(w.Nodes) != 0 {
		return nil
	}
	return w.ProtoReflect().GetUnknown()
}
