package snapshot

import (
	"bytes"
	"math"
	"strconv"
)

type valueKind uint8

const (
	kindNull valueKind = iota
	kindInt
	kindFloat
)

// Value is one counter or stat in a snapshot: an integer, a float, or null
// (unknown). The zero Value is null. It mirrors sdk.Value without importing
// the sdk, so that the munin plugin binary stays small and starts fast.
type Value struct {
	kind valueKind
	i    int64
	f    float64
}

// Null is the unknown value.
var Null = Value{}

// Int returns an integer Value.
func Int(i int64) Value { return Value{kind: kindInt, i: i} }

// Float returns a float Value; NaN and infinities become Null.
func Float(f float64) Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Null
	}
	return Value{kind: kindFloat, f: f}
}

// IsNull reports whether v is unknown.
func (v Value) IsNull() bool { return v.kind == kindNull }

// Int64 returns the integer held by v, and false if v is not an integer.
func (v Value) Int64() (int64, bool) { return v.i, v.kind == kindInt }

// Float64 returns v as a float64 (integers converted), and false if v is null.
func (v Value) Float64() (float64, bool) {
	switch v.kind {
	case kindInt:
		return float64(v.i), true
	case kindFloat:
		return v.f, true
	}
	return 0, false
}

// String formats v as in the snapshot: "null", "12", "0.5", "1.0".
func (v Value) String() string { return string(v.AppendJSON(nil)) }

// AppendJSON appends the JSON form of v to b. A float always keeps a
// decimal point or exponent, as Python's json module writes it, so that it
// reads back as a float.
func (v Value) AppendJSON(b []byte) []byte {
	switch v.kind {
	case kindInt:
		return strconv.AppendInt(b, v.i, 10)
	case kindFloat:
		start := len(b)
		b = appendFloat(b, v.f)
		if bytes.IndexAny(b[start:], ".e") < 0 {
			b = append(b, '.', '0')
		}
		return b
	}
	return append(b, "null"...)
}

// AppendMunin appends v as a munin value: the number, or "U" when unknown.
// Munin refuses "NaN", "+Inf" and text; Value cannot hold NaN or infinities.
func (v Value) AppendMunin(b []byte) []byte {
	switch v.kind {
	case kindInt:
		return strconv.AppendInt(b, v.i, 10)
	case kindFloat:
		return appendFloat(b, v.f)
	}
	return append(b, 'U')
}

// appendFloat writes the shortest form that reads back as f, positional
// unless f is tiny or huge, as Python's repr does: 1764000000.5, 1e-05,
// 1e+16. (Go's 'g' would write 1.7640000005e+09.)
func appendFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a == 0 || a >= 1e-4 && a < 1e16 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'e', -1, 64)
}
