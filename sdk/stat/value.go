// Package stat is statsherd's value model: a stat's Value (an integer, a
// float, or null) and the rule for names. It depends on the standard
// library only, so that small programs such as the munin plugin can use it
// without the plugin machinery; package sdk re-exports it.
package stat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

type kind uint8

const (
	kindNull kind = iota
	kindInt
	kindFloat
)

// Value is the value of one stat: an integer, a float, or null (unknown).
// The zero Value is null.
type Value struct {
	kind kind
	i    int64
	f    float64
}

// Null is the unknown value.
var Null = Value{}

// Int returns an integer Value.
func Int(i int64) Value { return Value{kind: kindInt, i: i} }

// Float returns a float Value. NaN and infinities are not numbers any
// backend can graph, so they become Null.
func Float(f float64) Value {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Null
	}
	return Value{kind: kindFloat, f: f}
}

// IsNull reports whether v is unknown.
func (v Value) IsNull() bool { return v.kind == kindNull }

// IsInt reports whether v holds an integer.
func (v Value) IsInt() bool { return v.kind == kindInt }

// IsFloat reports whether v holds a float.
func (v Value) IsFloat() bool { return v.kind == kindFloat }

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

// String formats v as JSON does: "null", "12", "0.5", "1.0".
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
		b = AppendFloat(b, v.f)
		if bytes.IndexAny(b[start:], ".e") < 0 {
			b = append(b, '.', '0')
		}
		return b
	}
	return append(b, "null"...)
}

// AppendFloat writes the shortest form that reads back as f, positional
// unless f is tiny or huge, as Python's repr does: 1764000000.5, 1e-05,
// 1e+16. (Go's 'g' would write 1.7640000005e+09.)
func AppendFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a == 0 || a >= 1e-4 && a < 1e16 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'e', -1, 64)
}

// MarshalJSON implements json.Marshaler.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler: null, an integer, or a
// number with a fraction or exponent (a float). Anything else is an error.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*v = Null
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) || !json.Valid(b) {
		return fmt.Errorf("stat value %.40q is not a number or null", b)
	}
	if bytes.IndexAny(b, ".eE") < 0 {
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			*v = Int(i)
			return nil
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("stat value %.40q: %w", b, err)
	}
	*v = Float(f)
	return nil
}
