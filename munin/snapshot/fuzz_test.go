package snapshot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts is
// JSON (apart from Python's NaN and infinities), and that what it accepts
// survives Marshal and Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"xyz": {"timestamp": 1764000000.5, "nickname": "storage-01", "stats": {"counters": {"storage_server.allocate": 12}, "stats": {"load_monitor.avg_load": 0.01, "x": null}}}}`))
	f.Add([]byte(`{"a": {"stats": {"stats": {"n": NaN, "i": -Infinity}}, "extra": [1, {"k": true}]}}`))
	f.Add([]byte(`{"\u00fc": {"nickname": "\ud83d\ude00 \"q\""}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) && !json.Valid(data) {
			t.Fatalf("Parse accepted invalid JSON %q", data)
		}
		b := Marshal(s)
		if !json.Valid(b) {
			t.Fatalf("Marshal wrote invalid JSON %q", b)
		}
		s2, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(%q))): %v", data, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the snapshot:\n%s\n%s", b, Marshal(s2))
		}
		// A selective parse agrees with the full one on what it keeps.
		sel := &Select{Counters: map[string]bool{}, Stats: map[string]bool{}}
		for _, n := range s {
			for k := range n.Stats {
				sel.Stats[k] = true
				break
			}
		}
		if _, err := ParseSelect(data, sel); err != nil {
			t.Fatalf("ParseSelect failed where Parse succeeded: %v", err)
		}
	})
}
