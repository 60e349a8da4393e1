package sdk

import (
	"sync"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/statsherd/statsherd/sdk/internal/codec"
)

// roundEncoding is a round's WriteRequest, encoded once for every output.
type roundEncoding struct {
	once sync.Once
	data mem.BufferSlice
}

// withSharedEncoding returns r marked so that the output clients it is
// written to encode it for the plugin protocol once, together, rather
// than once each: for a daemon handing the same round to several
// outputs. The round must not be changed after.
func (r Round) withSharedEncoding() Round {
	r.enc = &roundEncoding{}
	return r
}

// encoded returns the encoding of r's WriteRequest (empty if r is): the
// shared one, or one of its own. Its buffers are read only; a node that
// carries its encoding (encodedSample) is one of them.
func (r Round) encoded() mem.BufferSlice {
	if r.enc == nil {
		return encodeRound(r)
	}
	r.enc.once.Do(func() { r.enc.data = encodeRound(r) })
	return r.enc.data
}

// encodeRound returns the encoding of r's WriteRequest, in buffers to be
// sent in turn: each node that carries its encoding is a buffer of its
// own, as it is; the round's time and each run of nodes with maps are
// encoded into one buffer of the exact size. The bytes are those of one
// buffer encoding it all.
func encodeRound(r Round) mem.BufferSlice {
	var e codec.Encoder
	t := codec.UnixNano(r.Time)
	own := 0
	for i := range r.Nodes {
		if r.Nodes[i].enc != nil {
			own++
		}
	}
	data := make(mem.BufferSlice, 0, 2*own+1)
	start, head := 0, t != 0
	for i := 0; i <= len(r.Nodes); i++ {
		if i < len(r.Nodes) && r.Nodes[i].enc == nil {
			continue
		}
		if b := encodeNodes(&e, r.Nodes[start:i], head, t); len(b) > 0 {
			data = append(data, mem.SliceBuffer(b))
		}
		head = false
		if i < len(r.Nodes) {
			data = append(data, mem.SliceBuffer(r.Nodes[i].enc))
		}
		start = i + 1
	}
	return data
}

// encodeNodes encodes nodes, which have maps, into one buffer of the
// exact size, after the round's time t if head; nil if that is nothing.
func encodeNodes(e *codec.Encoder, nodes []NodeSample, head bool, t int64) []byte {
	size := 0
	if head {
		size += 1 + protowire.SizeVarint(uint64(t))
	}
	for i := range nodes {
		n := &nodes[i]
		size += 1 + protowire.SizeBytes(codec.NodeSize(n.ID, n.Nickname, codec.UnixNano(n.Timestamp), codec.StatsSize(n.Stats)))
	}
	if size == 0 {
		return nil
	}
	b := make([]byte, 0, size)
	if head {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t))
	}
	for i := range nodes {
		n := &nodes[i]
		b = e.AppendNode(b, n.ID, n.Nickname, n.Timestamp, n.Stats)
	}
	return b
}
