package snapshot

import (
	"strconv"

	"github.com/statsherd/statsherd/sdk/stat"
)

// Value is one counter or stat in a snapshot: an integer, a float, or null
// (unknown). It is the sdk's value model from sdk/stat, which carries none
// of the plugin machinery, so the munin plugin binary stays small and
// starts fast.
type Value = stat.Value

// Null is the unknown value.
var Null = stat.Null

// Int returns an integer Value.
func Int(i int64) Value { return stat.Int(i) }

// Float returns a float Value; NaN and infinities become Null.
func Float(f float64) Value { return stat.Float(f) }

// AppendMunin appends v as a munin value: the number, or "U" when unknown.
// Munin refuses "NaN", "+Inf" and text; a Value cannot hold NaN or
// infinities.
func AppendMunin(b []byte, v Value) []byte {
	if i, ok := v.Int64(); ok {
		return strconv.AppendInt(b, i, 10)
	}
	if f, ok := v.Float64(); ok {
		return stat.AppendFloat(b, f)
	}
	return append(b, 'U')
}
