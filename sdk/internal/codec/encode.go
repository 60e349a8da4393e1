package codec

import (
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/statsherd/statsherd/sdk/stat"
)

// Encoder encodes the nodes of Rounds as a proto.WriteRequest's straight
// from their maps, without the per-node messages and lists of
// roundToProto: the bytes decode to the same WriteRequest.
type Encoder struct {
	cn, in, fn, nn []string
	cv, iv         []int64
	fv             []float64
}

// StatsSize is the size of the encoding of StatsToProto(s), whatever the
// order of the maps.
func StatsSize(s stat.Stats) int {
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

// AppendNode appends field 2 of the WriteRequest: one node.
func (e *Encoder) AppendNode(b []byte, id, nickname string, ts time.Time, s stat.Stats) []byte {
	// Each map is read once, so that names and values stay in step.
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
	t := UnixNano(ts)
	b = AppendNodeHead(b, id, nickname, t, NodeSize(id, nickname, t, stats), stats)
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

// NodeSize is the size of a proto.NodeSample's encoding with stats of
// StatsSize bytes.
func NodeSize(id, nickname string, t int64, StatsSize int) int {
	size := 1 + protowire.SizeBytes(StatsSize)
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

// AppendNodeHead appends field 2 of a WriteRequest, a node of size bytes,
// up to its stats of StatsSize bytes: tag, length, id, nickname,
// timestamp and the stats' tag and length.
func AppendNodeHead(b []byte, id, nickname string, t int64, size, StatsSize int) []byte {
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
	return protowire.AppendVarint(b, uint64(StatsSize))
}

// UnixNano is t as Unix nanoseconds, with the zero time as 0 (UnixNano of
// year 1 overflows).
func UnixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// FromUnixNano is the inverse of UnixNano.
func FromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
