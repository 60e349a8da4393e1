package codec

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/statsherd/statsherd/sdk/stat"
)

// An output plugin receives every node's stats each round, and a fleet's
// nodes share nearly all their stat names. Decoded the generic way, each
// round allocates every name anew (a string per stat per node) and a
// proto message per node, only to copy them into the Round's maps. The
// plugin side instead keeps the WriteRequest's bytes (ServerCodec) and
// decodes them straight into the Round, with names interned: one string
// per distinct name, shared by every node and kept across rounds. The
// wire format is unchanged.

// Decoder decodes the parts of WriteRequests and proto.Stats, interning
// names across rounds; the sdk's roundDecoder makes Rounds of them. Its
// lock is held by whoever decodes with it.
type Decoder struct {
	sync.Mutex
	names interner // stat names, each valid
	ids   interner // node ids and nicknames
	// checks counts the canonical checks made (Canonical).
	checks uint64
	// scratch, reused for every node
	cn, in, fn, nn []nameRef
	cv, iv         []int64
	fv             []float64
	straddle       []byte // a node across two received buffers
}

// Head is a node's fields but its stats.
type Head struct {
	ID, Nickname string
	Timestamp    time.Time
}

// EndRound starts a new generation of both interners (interner.endRound):
// once per round decoded.
func (d *Decoder) EndRound() {
	d.names.endRound()
	d.ids.endRound()
}

// nameRef is a decoded stat name; ok says it is valid.
type nameRef struct {
	s  string
	ok bool
}

// interner hands out one string per distinct byte sequence. Names not
// used for a while are forgotten, so that a fleet whose names change
// does not grow it without bound.
type interner struct {
	m    map[string]*internEntry
	gen  uint32
	used int // distinct entries used in generation gen
}

type internEntry struct {
	s   string
	gen uint32
	// counter and stat are the last canonical check (Decoder.checks)
	// that met the name among counters and among stats.
	counter, stat uint64
}

// get returns the interned string of b, if any.
// entry returns b's entry, counted as used in this generation; nil if b
// is not interned.
func (t *interner) entry(b []byte) *internEntry {
	e := t.m[string(b)] // no allocation: a lookup
	if e != nil && e.gen != t.gen {
		e.gen = t.gen
		t.used++
	}
	return e
}

func (t *interner) put(s string) *internEntry {
	if t.m == nil {
		t.m = map[string]*internEntry{}
	}
	e := &internEntry{s: s, gen: t.gen}
	t.m[s] = e
	t.used++
	return e
}

// intern returns b as an interned string.
func (t *interner) intern(b []byte) string {
	if e := t.entry(b); e != nil {
		return e.s
	}
	return t.put(string(b)).s
}

// endRound starts a new generation, first forgetting the entries unused
// in this one if they are many.
func (t *interner) endRound() {
	if len(t.m) > 2*t.used+4096 {
		for k, e := range t.m {
			if e.gen != t.gen {
				delete(t.m, k)
			}
		}
	}
	t.gen++
	t.used = 0
}

// name decodes one stat name.
func (d *Decoder) name(b []byte) nameRef {
	if e := d.entry(b); e != nil {
		return nameRef{e.s, true}
	}
	return nameRef{string(b), false}
}

// entry returns the interned entry of the stat name b, nil if b is not a
// valid name.
func (d *Decoder) entry(b []byte) *internEntry {
	if e := d.names.entry(b); e != nil {
		return e
	}
	s := string(b)
	if stat.ValidSeries(s) != nil {
		return nil
	}
	return d.names.put(s)
}

// errTruncated is a malformed message: no round. Other errors of decode
// are invalid names, dropped from a round that is kept.
var errTruncated = ErrMalformed

// ErrMalformed is returned (wrapped) by StatsDecoder.Decode for bytes
// that are not a valid encoding.
var ErrMalformed = errors.New("truncated or malformed protobuf")

// Each walks in as EachNode does, across its Pieces; ErrFallback means
// walk in.joined() instead (fn may have been called).
func (d *Decoder) Each(in Raw, t *time.Time, fn func(i int, node []byte) error) error {
	switch len(in) {
	case 0:
		return nil
	case 1:
		return EachNode(in[0], t, fn)
	}
	return EachNodeSegs(in, &d.straddle, t, fn)
}

// NodeErr is the error of the round for its ith node's malformed bytes.
func NodeErr(i int, err error) error { return fmt.Errorf("write request: node %d: %w", i, err) }

// NamedNodeErr is the error of the round for a node's invalid names.
func NamedNodeErr(id string, err error) error { return fmt.Errorf("node %s: %w", id, err) }

// EachNode walks an encoded WriteRequest: it sets *t to the round's time
// and calls fn with each node's encoding, in order, stopping at fn's
// first error. A malformed message is an error.
func EachNode(b []byte, t *time.Time, fn func(i int, node []byte) error) error {
	nodes := 0
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return fmt.Errorf("write request: %w", errTruncated)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return fmt.Errorf("write request: round time: %w", errTruncated)
			}
			*t = FromUnixNano(int64(v))
			b = b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return fmt.Errorf("write request: node: %w", errTruncated)
			}
			if err := fn(nodes, v); err != nil {
				return err
			}
			nodes++
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("write request: field %d: %w", num, errTruncated)
			}
			b = b[n:]
		}
	}
	return nil
}

// Header decodes a node's fields but its stats, and returns the stats'
// encoding.
func (d *Decoder) Header(b []byte) (Head, []byte, error) {
	var ns Head
	var stats []byte
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return ns, nil, errTruncated
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 2) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ns, nil, errTruncated
			}
			if !utf8.Valid(v) {
				return ns, nil, fmt.Errorf("id or nickname is not valid UTF-8: %w", errTruncated)
			}
			if num == 1 {
				ns.ID = d.ids.intern(v)
			} else {
				ns.Nickname = d.ids.intern(v)
			}
			b = b[n:]
		case num == 3 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return ns, nil, errTruncated
			}
			ns.Timestamp = FromUnixNano(int64(v))
			b = b[n:]
		case num == 4 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ns, nil, errTruncated
			}
			if stats == nil {
				stats = v
			} else {
				// A message field given twice merges: as one encoding
				// after the other. Copied, not written over b.
				stats = append(stats[:len(stats):len(stats)], v...)
			}
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ns, nil, errTruncated
			}
			b = b[n:]
		}
	}
	return ns, stats, nil
}

// DecodeStats decodes a proto.Stats, with StatsFromProto's checks and errors.
func (d *Decoder) DecodeStats(b []byte) (stat.Stats, error) {
	if err := d.Scan(b); err != nil {
		return stat.Stats{}, err
	}
	s := stat.Stats{
		Counters: make(map[string]int64, len(d.cn)),
		Stats:    make(map[string]stat.Value, len(d.in)+len(d.fn)+len(d.nn)),
	}
	return s, d.Fill(s)
}

// Scan parses a proto.Stats into d's lists of names and values; a
// malformed encoding is errTruncated.
func (d *Decoder) Scan(b []byte) error {
	d.cn, d.in, d.fn, d.nn = d.cn[:0], d.in[:0], d.fn[:0], d.nn[:0]
	d.cv, d.iv, d.fv = d.cv[:0], d.iv[:0], d.fv[:0]
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return errTruncated
		}
		b = b[n:]
		switch {
		case (num == 1 || num == 3 || num == 5 || num == 7) && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return errTruncated
			}
			ref := d.name(v)
			switch num {
			case 1:
				d.cn = append(d.cn, ref)
			case 3:
				d.in = append(d.in, ref)
			case 5:
				d.fn = append(d.fn, ref)
			default:
				d.nn = append(d.nn, ref)
			}
			b = b[n:]
		case (num == 2 || num == 4) && (typ == protowire.VarintType || typ == protowire.BytesType):
			dst := &d.cv
			if num == 4 {
				dst = &d.iv
			}
			var err error
			if b, err = consumeVarints(b, typ, dst); err != nil {
				return err
			}
		case num == 6 && (typ == protowire.Fixed64Type || typ == protowire.BytesType):
			var err error
			if b, err = consumeDoubles(b, typ, &d.fv); err != nil {
				return err
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errTruncated
			}
			b = b[n:]
		}
	}
	return nil
}

// mismatched says the scanned lists of names and values differ in length.
func (d *Decoder) mismatched() bool {
	return len(d.cn) != len(d.cv) || len(d.in) != len(d.iv) || len(d.fn) != len(d.fv)
}

// Fill puts the scanned values with valid names into s, whose maps are
// empty, and returns the error StatsFromProto would: mismatched lists
// (then s stays empty) or the invalid names dropped.
func (d *Decoder) Fill(s stat.Stats) error {
	if d.mismatched() {
		return d.Scanned()
	}
	bad := false
	for i, r := range d.cn {
		if r.ok {
			s.Counters[r.s] = d.cv[i]
		} else {
			bad = true
		}
	}
	for i, r := range d.in {
		if r.ok {
			s.Stats[r.s] = stat.Int(d.iv[i])
		} else {
			bad = true
		}
	}
	for i, r := range d.fn {
		if r.ok {
			s.Stats[r.s] = stat.Float(d.fv[i])
		} else {
			bad = true
		}
	}
	for _, r := range d.nn {
		if r.ok {
			s.Stats[r.s] = stat.Null
		} else {
			bad = true
		}
	}
	if bad {
		return d.Scanned()
	}
	return nil
}

// AppendLists appends the scanned values with valid names to the lists,
// in the order they were sent: the counters to cn and cv, the stats
// (integers, then floats, then nulls) to sn and sv; and returns the error
// Fill would (mismatched lists: nothing appended).
func (d *Decoder) AppendLists(cn []string, cv []int64, sn []string, sv []stat.Value) ([]string, []int64, []string, []stat.Value, error) {
	if d.mismatched() {
		return cn, cv, sn, sv, d.Scanned()
	}
	bad := false
	for i, r := range d.cn {
		if r.ok {
			cn, cv = append(cn, r.s), append(cv, d.cv[i])
		} else {
			bad = true
		}
	}
	for i, r := range d.in {
		if r.ok {
			sn, sv = append(sn, r.s), append(sv, stat.Int(d.iv[i]))
		} else {
			bad = true
		}
	}
	for i, r := range d.fn {
		if r.ok {
			sn, sv = append(sn, r.s), append(sv, stat.Float(d.fv[i]))
		} else {
			bad = true
		}
	}
	for _, r := range d.nn {
		if r.ok {
			sn, sv = append(sn, r.s), append(sv, stat.Null)
		} else {
			bad = true
		}
	}
	if bad {
		return cn, cv, sn, sv, d.Scanned()
	}
	return cn, cv, sn, sv, nil
}

// Scanned returns the error of the scanned stats, as fill does, without
// filling anything.
func (d *Decoder) Scanned() error {
	if d.mismatched() {
		return MalformedStats(len(d.cn), len(d.cv), len(d.in), len(d.iv), len(d.fn), len(d.fv))
	}
	var bad []string
	for _, refs := range [][]nameRef{d.cn, d.in, d.fn, d.nn} {
		for _, r := range refs {
			if !r.ok {
				bad = append(bad, stat.ValidSeries(r.s).Error())
			}
		}
	}
	if len(bad) > 0 {
		return DroppedNames(bad)
	}
	return nil
}

// consumeVarints appends a repeated int64 field's values, packed or not.
func consumeVarints(b []byte, typ protowire.Type, dst *[]int64) ([]byte, error) {
	switch typ {
	case protowire.VarintType:
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return nil, errTruncated
		}
		*dst = append(*dst, int64(v))
		return b[n:], nil
	case protowire.BytesType:
		p, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, errTruncated
		}
		for len(p) > 0 {
			v, m := protowire.ConsumeVarint(p)
			if m < 0 {
				return nil, errTruncated
			}
			*dst = append(*dst, int64(v))
			p = p[m:]
		}
		return b[n:], nil
	}
	return nil, fmt.Errorf("integer values of wire type %d: %w", typ, errTruncated)
}

// consumeDoubles appends a repeated double field's values, packed or not.
func consumeDoubles(b []byte, typ protowire.Type, dst *[]float64) ([]byte, error) {
	switch typ {
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return nil, errTruncated
		}
		*dst = append(*dst, math.Float64frombits(v))
		return b[n:], nil
	case protowire.BytesType:
		p, n := protowire.ConsumeBytes(b)
		if n < 0 || len(p)%8 != 0 {
			return nil, errTruncated
		}
		for ; len(p) > 0; p = p[8:] {
			v, _ := protowire.ConsumeFixed64(p)
			*dst = append(*dst, math.Float64frombits(v))
		}
		return b[n:], nil
	}
	return nil, fmt.Errorf("float values of wire type %d: %w", typ, errTruncated)
}

// consumeTag is protowire.ConsumeTag, also refusing field numbers above
// the largest valid one, as the proto decoder does.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, -1
	}
	return num, typ, n
}
