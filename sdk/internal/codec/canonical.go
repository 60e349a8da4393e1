package codec

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Canonical reports whether b, an encoded proto.Stats (as a host's answer
// carries them), is exactly as the sdk encodes valid Stats, so that it
// can be sent on as it is (the sdk's encodedSample) and every output decodes it to
// the Stats that Decode would give, with no error: well formed; every
// name valid, and named once among counters and once among stats; as
// many values as names; no NaN or infinite float (which Stats hold as
// null); fields in order, values packed, nothing else. negative counts
// the counters below zero (when ok), which a daemon may want to drop.
//
// Names are interned as by Decode. Anything else is not canonical: such
// stats are decoded (Decode), with its errors, and encoded again from
// the Stats. It is safe for concurrent use.
func (s *StatsDecoder) Canonical(b []byte) (negative int, ok bool) {
	d := s.lock()
	defer d.Unlock()
	return d.canonical(b)
}

// canonical is Canonical, without a lock. Counters and stats named twice
// are found with marks on the interned names: no map per call.
func (d *Decoder) canonical(b []byte) (negative int, ok bool) {
	d.checks++
	mark := d.checks
	var names, values [8]int // by field number
	size, last := 0, protowire.Number(0)
	for rest := b; len(rest) > 0; {
		num, typ, n := consumeTag(rest)
		if n < 0 || typ != protowire.BytesType || num < last || num > 7 || (num%2 == 0 && num == last) {
			return 0, false
		}
		last = num
		v, m := protowire.ConsumeBytes(rest[n:])
		if m < 0 {
			return 0, false
		}
		rest = rest[n+m:]
		size += protowire.SizeTag(num) + protowire.SizeBytes(len(v))
		switch num {
		case 1, 3, 5, 7:
			e := d.entry(v)
			if e == nil {
				return 0, false
			}
			seen := &e.stat
			if num == 1 {
				seen = &e.counter
			}
			if *seen == mark {
				return 0, false
			}
			*seen = mark
			names[num]++
		case 2, 4:
			if len(v) == 0 {
				return 0, false
			}
			for len(v) > 0 {
				x, k := protowire.ConsumeVarint(v)
				if k < 0 || k != protowire.SizeVarint(x) {
					return 0, false
				}
				if num == 2 && int64(x) < 0 {
					negative++
				}
				values[num-1]++
				v = v[k:]
			}
		case 6:
			if len(v) == 0 || len(v)%8 != 0 {
				return 0, false
			}
			for ; len(v) > 0; v = v[8:] {
				x, _ := protowire.ConsumeFixed64(v)
				if f := math.Float64frombits(x); math.IsNaN(f) || math.IsInf(f, 0) {
					return 0, false
				}
				values[num-1]++
			}
		}
	}
	if names[1] != values[1] || names[3] != values[3] || names[5] != values[5] {
		return 0, false
	}
	// Every length and value took its fewest bytes.
	return negative, size == len(b)
}
