package sdk

import (
	"math"
	"sync"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/statsherd/statsherd/sdk/proto"
)

// rawCodec is gRPC's proto codec, except for a Write's request received
// by the sdk's server (a receivedWrite): that one keeps gRPC's buffers
// undecoded, for roundDecoder. (A daemon's output client sends rounds
// with roundCodec.) Other messages, and the bytes on the wire, are as
// with the proto codec.
type rawCodec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) { return protoCodec.Marshal(v) }

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if w, ok := v.(*receivedWrite); ok {
		w.keep(data) // decoded where they are: round_segments.go
		return nil
	}
	return protoCodec.Unmarshal(data, v)
}

func (rawCodec) Name() string { return protoCodec.Name() }

// roundCodec sends one round's WriteRequest as its encoding, data: the
// round's header and every node's bytes, written by gRPC's transport one
// after the other, never copied together. It is rawCodec otherwise.
type roundCodec struct {
	rawCodec
	data mem.BufferSlice
}

func (c roundCodec) Marshal(v any) (mem.BufferSlice, error) {
	if _, ok := v.(*proto.WriteRequest); ok {
		return c.data, nil
	}
	return c.rawCodec.Marshal(v)
}

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

// roundEncoder encodes Rounds as proto.WriteRequests straight from their
// maps, without the per-node messages and lists of roundToProto: the
// bytes decode to the same WriteRequest.
type roundEncoder struct {
	cn, in, fn, nn []string
	cv, iv         []int64
	fv             []float64
}

// encodeRound returns the encoding of r's WriteRequest, in buffers to be
// sent in turn: each node that carries its encoding is a buffer of its
// own, as it is; the round's time and each run of nodes with maps are
// encoded into one buffer of the exact size. The bytes are those of one
// buffer encoding it all.
func encodeRound(r Round) mem.BufferSlice {
	var e roundEncoder
	t := unixNano(r.Time)
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
		if b := e.encodeNodes(r.Nodes[start:i], head, t); len(b) > 0 {
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
func (e *roundEncoder) encodeNodes(nodes []NodeSample, head bool, t int64) []byte {
	size := 0
	if head {
		size += 1 + protowire.SizeVarint(uint64(t))
	}
	for i := range nodes {
		n := &nodes[i]
		size += 1 + protowire.SizeBytes(nodeSize(n.ID, n.Nickname, unixNano(n.Timestamp), statsSize(n.Stats)))
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
		b = e.appendNode(b, &nodes[i])
	}
	return b
}

// statsSize is the size of the encoding of StatsToProto(s), whatever the
// order of the maps.
func statsSize(s Stats) int {
	size, cv := 0, 0
	for k, v := range s.Counters {
		size += 1 + protowire.SizeBytes(len(k))
		cv += protowire.SizeVarint(uint64(v))
	}
	iv, fv := 0, 0
	for k, v := range s.Stats {
		size += 1 + protowire.SizeBytes(len(k))
		if i, ok := v.Int64(); ok {
			iv += protowire.SizeVarint(uint64(i))
		} else if _, ok := v.Float64(); ok {
			fv += 8
		}
	}
	for _, n := range []int{cv, iv, fv} {
		if n > 0 {
			size += 1 + protowire.SizeBytes(n)
		}
	}
	return size
}

// appendNode appends field 2 of the WriteRequest: one node.
func (e *roundEncoder) appendNode(b []byte, n *NodeSample) []byte {
	// Each map is read once, so that names and values stay in step.
	s := n.Stats
	e.cn, e.cv = e.cn[:0], e.cv[:0]
	for k, v := range s.Counters {
		e.cn = append(e.cn, k)
		e.cv = append(e.cv, v)
	}
	e.in, e.iv, e.fn, e.fv, e.nn = e.in[:0], e.iv[:0], e.fn[:0], e.fv[:0], e.nn[:0]
	for k, v := range s.Stats {
		if i, ok := v.Int64(); ok {
			e.in = append(e.in, k)
			e.iv = append(e.iv, i)
		} else if f, ok := v.Float64(); ok {
			e.fn = append(e.fn, k)
			e.fv = append(e.fv, f)
		} else {
			e.nn = append(e.nn, k)
		}
	}
	cvSize, ivSize := varintsSize(e.cv), varintsSize(e.iv)
	stats := namesSize(e.cn) + namesSize(e.in) + namesSize(e.fn) + namesSize(e.nn)
	for _, n := range []int{cvSize, ivSize, 8 * len(e.fv)} {
		if n > 0 {
			stats += 1 + protowire.SizeBytes(n)
		}
	}
	t := unixNano(n.Timestamp)
	b = appendNodeHead(b, n.ID, n.Nickname, t, nodeSize(n.ID, n.Nickname, t, stats), stats)
	b = appendNames(b, 1, e.cn)
	b = appendVarints(b, 2, e.cv, cvSize)
	b = appendNames(b, 3, e.in)
	b = appendVarints(b, 4, e.iv, ivSize)
	b = appendNames(b, 5, e.fn)
	if len(e.fv) > 0 {
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(8*len(e.fv)))
		for _, f := range e.fv {
			b = protowire.AppendFixed64(b, math.Float64bits(f))
		}
	}
	return appendNames(b, 7, e.nn)
}

func namesSize(names []string) int {
	n := 0
	for _, s := range names {
		n += 1 + protowire.SizeBytes(len(s))
	}
	return n
}

func varintsSize(vs []int64) int {
	n := 0
	for _, v := range vs {
		n += protowire.SizeVarint(uint64(v))
	}
	return n
}

func appendNames(b []byte, num protowire.Number, names []string) []byte {
	for _, s := range names {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return b
}

// appendVarints appends a packed repeated int64 field of size bytes.
func appendVarints(b []byte, num protowire.Number, vs []int64, size int) []byte {
	if len(vs) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	for _, v := range vs {
		b = protowire.AppendVarint(b, uint64(v))
	}
	return b
}
