package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// AttrType is the type of one attribute of a plugin's HCL block.
type AttrType string

// The attribute types a plugin may declare. A Duration is written in HCL as
// a string ("90s", "48h") and reaches the plugin as a time.Duration (JSON
// nanoseconds).
const (
	String       AttrType = "string"
	Number       AttrType = "number"
	Bool         AttrType = "bool"
	Duration     AttrType = "duration"
	ListOfString AttrType = "list(string)"
	MapOfString  AttrType = "map(string)"
)

// Valid reports whether t is one of the declared attribute types.
func (t AttrType) Valid() bool {
	switch t {
	case String, Number, Bool, Duration, ListOfString, MapOfString:
		return true
	}
	return false
}

// Attribute declares one attribute of a plugin's HCL block. Default is the
// value used when the attribute is absent (nil for none): a string, number,
// bool, time.Duration, []string or map[string]string as Type says.
type Attribute struct {
	Name        string   `json:"name"`
	Type        AttrType `json:"type"`
	Required    bool     `json:"required,omitempty"`
	Default     any      `json:"default,omitempty"`
	Description string   `json:"description,omitempty"`
}

// MarshalJSON writes the attribute as `describe` shows it: a Duration's
// default as it is written in HCL ("60s", "48h"), not in nanoseconds.
func (a Attribute) MarshalJSON() ([]byte, error) {
	type plain Attribute
	p := plain(a)
	if d, ok := a.Default.(time.Duration); ok {
		p.Default = formatDuration(d)
	}
	return json.Marshal(p)
}

// formatDuration writes d as an operator writes it in HCL, in the one unit
// that shows it whole: "60s", "48h", "90m", "250ms"; "0s" for zero.
// time.ParseDuration reads it back.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Hour && d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	case d%time.Millisecond == 0:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	case d%time.Microsecond == 0:
		return fmt.Sprintf("%dus", d/time.Microsecond)
	}
	return fmt.Sprintf("%dns", d)
}

// Schema is the set of attributes a plugin's block accepts. Any other
// attribute in the block is an error, reported before anything starts.
type Schema []Attribute

// Config is a plugin's decoded HCL block: a JSON object of attribute name
// to value, defaults filled in, durations as nanoseconds.
type Config []byte

// Decode decodes the config into v, a pointer to a struct with json tags.
// Fields of type time.Duration receive durations. A key v has no field for
// is an error.
func (c Config) Decode(v any) error {
	if len(bytes.TrimSpace(c)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding plugin config: %w", err)
	}
	return nil
}
