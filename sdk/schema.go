package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
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
