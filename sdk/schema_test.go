package sdk

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Second, "1s"},
		{10 * time.Second, "10s"},
		{time.Minute, "60s"},
		{5 * time.Minute, "300s"},
		{time.Hour, "1h"},
		{48 * time.Hour, "48h"},
		{90 * time.Minute, "90m"},
		{time.Hour + time.Second, "3601s"},
		{1500 * time.Millisecond, "1500ms"},
		{250 * time.Microsecond, "250us"},
		{7, "7ns"},
		{-30 * time.Second, "-30s"},
		{math.MaxInt64, "9223372036854775807ns"},
		{math.MinInt64, "-9223372036854775808ns"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			got := formatDuration(tt.d)
			if got != tt.want {
				t.Errorf("formatDuration(%d) = %q, want %q", int64(tt.d), got, tt.want)
			}
			back, err := time.ParseDuration(got)
			if err != nil || back != tt.d {
				t.Errorf("time.ParseDuration(%q) = %v, %v; want %v", got, back, err, tt.d)
			}
		})
	}
}

// TestAttributeJSON checks describe's JSON: a duration default as HCL
// writes it, every other default as it is.
func TestAttributeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		attr Attribute
		want string
	}{
		{"duration", Attribute{Name: "every", Type: Duration, Default: time.Minute},
			`{"name":"every","type":"duration","default":"60s"}`},
		{"no default", Attribute{Name: "dir", Type: String, Required: true},
			`{"name":"dir","type":"string","required":true}`},
		{"string", Attribute{Name: "file", Type: String, Default: "stats.json"},
			`{"name":"file","type":"string","default":"stats.json"}`},
		{"number", Attribute{Name: "n", Type: Number, Default: 3},
			`{"name":"n","type":"number","default":3}`},
		{"list", Attribute{Name: "l", Type: ListOfString, Default: []string{"a"}, Description: "d"},
			`{"name":"l","type":"list(string)","default":["a"],"description":"d"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.attr)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("json = %s, want %s", b, tt.want)
			}
		})
	}
	// Inside an Info (a slice of values), as Describe writes it.
	b, err := json.Marshal(Info{Name: "x", Config: Schema{{Name: "every", Type: Duration, Default: 2 * time.Hour}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"default":"2h"`) {
		t.Errorf("Info json = %s, want the default as \"2h\"", b)
	}
}
