package codec

import (
	"errors"
	"slices"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// A round's WriteRequest arrives in gRPC's buffers (one per HTTP/2 data
// frame, ≤ 16 KiB each). Copying them into one slice would hold the round
// twice (≈ 25 MB at 10,000 hosts × 100 stats) while it is decoded, so the
// plugin side decodes across the buffers instead: a node that lies in one
// buffer is decoded in place, one that straddles two is copied into a
// scratch buffer first (a node is ≈ 3 KB). Anything unusual (a group, a
// malformed field) falls back to decoding one joined copy, which gives the
// generic errors.

// Raw is an encoded WriteRequest in Pieces: gRPC's received buffers,
// or one slice.
type Raw [][]byte

// Joined returns r in one piece.
func (r Raw) Joined() Raw {
	if len(r) <= 1 {
		return r
	}
	return Raw{slices.Concat(r...)}
}

// ErrFallback is the segmented walk giving up: walk the joined bytes.
var ErrFallback = errors.New("decode the joined bytes")

// Pieces returns the bytes of bufs, valid until they are freed.
func Pieces(bufs mem.BufferSlice) Raw {
	r := make(Raw, 0, len(bufs))
	for _, b := range bufs {
		if p := b.ReadOnlyData(); len(p) > 0 {
			r = append(r, p)
		}
	}
	return r
}

// maxVarint is the longest encoding of a varint.
const maxVarint = 10

// segReader reads a Raw from its start.
type segReader struct {
	in      Raw
	i, off  int
	left    int // bytes not yet read
	peekBuf [2 * maxVarint]byte
}

func newSegReader(in Raw) segReader {
	n := 0
	for _, p := range in {
		n += len(p)
	}
	return segReader{in: in, left: n}
}

// peek returns up to n of the next bytes, without reading them; copied
// if they straddle Pieces.
func (r *segReader) peek(n int) []byte {
	n = min(n, r.left)
	if r.i < len(r.in) && len(r.in[r.i])-r.off >= n {
		return r.in[r.i][r.off : r.off+n]
	}
	b := r.peekBuf[:0]
	for i, off := r.i, r.off; len(b) < n; i, off = i+1, 0 {
		b = append(b, r.in[i][off:min(len(r.in[i]), off+n-len(b))]...)
	}
	return b
}

// skip reads n bytes (n ≤ r.left).
func (r *segReader) skip(n int) {
	r.left -= n
	for n > 0 {
		k := min(n, len(r.in[r.i])-r.off)
		r.off += k
		n -= k
		if r.off == len(r.in[r.i]) {
			r.i, r.off = r.i+1, 0
		}
	}
}

// take reads n bytes (n ≤ r.left): in place if they lie in one piece,
// else copied into *scratch.
func (r *segReader) take(n int, scratch *[]byte) []byte {
	if r.i < len(r.in) && len(r.in[r.i])-r.off >= n {
		b := r.in[r.i][r.off : r.off+n]
		r.skip(n)
		return b
	}
	b := (*scratch)[:0]
	for len(b) < n {
		p := r.in[r.i][r.off:min(len(r.in[r.i]), r.off+n-len(b))]
		b = append(b, p...)
		r.skip(len(p))
	}
	*scratch = b
	return b
}

// varint reads a varint; false if there is none.
func (r *segReader) varint() (uint64, bool) {
	v, n := protowire.ConsumeVarint(r.peek(maxVarint))
	if n < 0 {
		return 0, false
	}
	r.skip(n)
	return v, true
}

// EachNodeSegs is EachNode over Pieces, straddling nodes copied into
// *scratch (valid until fn returns). It returns ErrFallback, having
// perhaps called fn, for anything EachNode would refuse or that needs
// the bytes joined (a group): then walk the joined bytes instead.
func EachNodeSegs(in Raw, scratch *[]byte, t *time.Time, fn func(i int, node []byte) error) error {
	r := newSegReader(in)
	nodes := 0
	for r.left > 0 {
		num, typ, n := consumeTag(r.peek(maxVarint))
		if n < 0 {
			return ErrFallback
		}
		r.skip(n)
		switch typ {
		case protowire.VarintType:
			v, ok := r.varint()
			if !ok {
				return ErrFallback
			}
			if num == 1 {
				*t = FromUnixNano(int64(v))
			}
		case protowire.Fixed32Type, protowire.Fixed64Type:
			size := 4
			if typ == protowire.Fixed64Type {
				size = 8
			}
			if r.left < size {
				return ErrFallback
			}
			r.skip(size)
		case protowire.BytesType:
			l, ok := r.varint()
			if !ok || l > uint64(r.left) {
				return ErrFallback
			}
			if num != 2 {
				r.skip(int(l))
				continue
			}
			if err := fn(nodes, r.take(int(l), scratch)); err != nil {
				return err
			}
			nodes++
		default:
			return ErrFallback // a group, or no wire type
		}
	}
	return nil
}
