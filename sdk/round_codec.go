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

// rawCodec is gRPC's proto codec, except for WriteRequests: one that
// carries its encoding (rawWriteRequest) is sent as those bytes, without
// a copy, and one received keeps gRPC's buffers undecoded, for
// roundDecoder (see keepReceived).
// Other messages, and the bytes on the wire, are as with the proto codec.
type rawCodec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if w, ok := v.(*proto.WriteRequest); ok {
		if b := rawOf(w); b != nil {
			return mem.BufferSlice{mem.SliceBuffer(b)}, nil
		}
	}
	return protoCodec.Marshal(v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if w, ok := v.(*proto.WriteRequest); ok {
		keepReceived(w, data) // decoded where they are: round_segments.go
		return nil
	}
	return protoCodec.Unmarshal(data, v)
}

func (rawCodec) Name() string { return protoCodec.Name() }

// roundEncoding is a round's WriteRequest, encoded once for every output.
type roundEncoding struct {
	once sync.Once
	b    []byte
}

// WithSharedEncoding returns r marked so that the output clients it is
// written to encode it for the plugin protocol once, together, rather
// than once each: for a daemon handing the same round to several
// outputs. The round must not be changed after.
func (r Round) WithSharedEncoding() Round {
	r.enc = &roundEncoding{}
	return r
}

// encoded returns the WriteRequest of r to send, as its encoding (sent
// by rawCodec without a copy; false if r is empty): the shared one, or
// one of its own.
func (r Round) encoded() (*proto.WriteRequest, bool) {
	var b []byte
	if r.enc == nil {
		b = encodeRound(r)
	} else {
		r.enc.once.Do(func() { r.enc.b = encodeRound(r) })
		b = r.enc.b
	}
	if len(b) == 0 {
		return &proto.WriteRequest{}, false
	}
	return rawWriteRequest(b), true
}

// roundEncoder encodes Rounds as proto.WriteRequests straight from their
// maps, without the per-node messages and lists of roundToProto, into one
// buffer of the exact size: the bytes decode to the same WriteRequest.
type roundEncoder struct {
	cn, in, fn, nn []string
	cv, iv         []int64
	fv             []float64
}

// encodeRound returns the encoding of r's WriteRequest.
func encodeRound(r Round) []byte {
	var e roundEncoder
	size := 0
	if t := unixNano(r.Time); t != 0 {
		size += 1 + protowire.SizeVarint(uint64(t))
	}
	for i := range r.Nodes {
		n := nodeSize(&r.Nodes[i], statsSize(r.Nodes[i].Stats))
		size += 1 + protowire.SizeBytes(n)
	}
	b := make([]byte, 0, size)
	if t := unixNano(r.Time); t != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t))
	}
	for i := range r.Nodes {
		b = e.appendNode(b, &r.Nodes[i])
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

func nodeSize(n *NodeSample, stats int) int {
	size := 1 + protowire.SizeBytes(stats)
	if n.ID != "" {
		size += 1 + protowire.SizeBytes(len(n.ID))
	}
	if n.Nickname != "" {
		size += 1 + protowire.SizeBytes(len(n.Nickname))
	}
	if t := unixNano(n.Timestamp); t != 0 {
		size += 1 + protowire.SizeVarint(uint64(t))
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
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(nodeSize(n, stats)))
	if n.ID != "" {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, n.ID)
	}
	if n.Nickname != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, n.Nickname)
	}
	if t := unixNano(n.Timestamp); t != 0 {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t))
	}
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(stats))
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
