package sdk

import "github.com/statsherd/statsherd/sdk/stat"

// Value is the value of one stat: an integer, a float, or null (unknown).
// The zero Value is null. (It is defined in sdk/stat, which needs nothing
// but the standard library.)
type Value = stat.Value

// Null is the unknown value.
var Null = stat.Null

// Int returns an integer Value.
func Int(i int64) Value { return stat.Int(i) }

// Float returns a float Value; NaN and infinities become Null.
func Float(f float64) Value { return stat.Float(f) }

// MaxNameLen is the longest stat name accepted.
const MaxNameLen = stat.MaxNameLen

// ValidName reports whether name is a valid counter or stat name:
// non-empty, at most MaxNameLen bytes of [A-Za-z0-9_.-], dot-separated
// parts none of which is empty.
func ValidName(name string) error { return stat.ValidName(name) }

// Label is one label of a series (a name plus labels); see Series.
type Label = stat.Label

// L returns the label name=value.
func L(name, value string) Label { return Label{Name: name, Value: value} }

// Bounds on a series' labels.
const (
	MaxLabels        = stat.MaxLabels
	MaxLabelValueLen = stat.MaxLabelValueLen
)

// Series returns the key under which the series name with labels is kept
// in Stats' maps and sent: name itself without labels, else
// name{label="value",…}, labels sorted. At most MaxLabels labels, names
// [a-zA-Z_][a-zA-Z0-9_]* (not starting "__"), values at most
// MaxLabelValueLen bytes of UTF-8.
//
//	s.Counters[sdk.MustSeries("http.requests", sdk.L("status", "500"))]++
func Series(name string, labels ...Label) (string, error) { return stat.Series(name, labels...) }

// MustSeries is Series for labels known to be valid; it panics otherwise.
func MustSeries(name string, labels ...Label) string {
	k, err := stat.Series(name, labels...)
	if err != nil {
		panic(err)
	}
	return k
}

// ValidSeries reports whether key is a valid key of a series (Series):
// every key in Stats' maps must be.
func ValidSeries(key string) error { return stat.ValidSeries(key) }

// Stats is what a producer reports and what a host answers to a poll.
// Counters only go up (work done since start); Stats are instantaneous.
// (It is defined in sdk/stat, so that a client for node software,
// sdk/report, needs nothing but the standard library.)
type Stats = stat.Stats

// NewStats returns empty, non-nil Stats.
func NewStats() Stats { return stat.NewStats() }
