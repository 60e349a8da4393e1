package snapshot

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Snapshot
	}{
		{"empty", `{}`, Snapshot{}},
		{"tahoe", `{"xyz": {"timestamp": 1764000000.5, "nickname": "storage-01", "stats": {"counters": {"storage_server.allocate": 12}, "stats": {"load_monitor.avg_load": 0.01}}}}`,
			Snapshot{"xyz": {Nickname: "storage-01", Timestamp: 1764000000.5,
				Counters: map[string]Value{"storage_server.allocate": Int(12)},
				Stats:    map[string]Value{"load_monitor.avg_load": Float(0.01)}}}},
		{"python nan and infinities are null", `{"a": {"stats": {"stats": {"n": NaN, "i": Infinity, "m": -Infinity, "z": null}}}}`,
			Snapshot{"a": {Counters: map[string]Value{}, Stats: map[string]Value{"n": Null, "i": Null, "m": Null, "z": Null}}}},
		{"missing fields default", `{"a": {}}`, Snapshot{"a": {Counters: map[string]Value{}, Stats: map[string]Value{}}}},
		{"null timestamp and nickname", `{"a": {"timestamp": null, "nickname": null}}`, Snapshot{"a": {Counters: map[string]Value{}, Stats: map[string]Value{}}}},
		{"escaped and non-ASCII strings", `{"\u0061b": {"nickname": "\u00fcber \"q\" ü"}}`,
			Snapshot{"ab": {Nickname: `über "q" ü`, Counters: map[string]Value{}, Stats: map[string]Value{}}}},
		{"unknown keys skipped", `{"a": {"extra": [1, {"x": [true, false, null, "s"]}], "stats": {"other": {"x": "y"}, "counters": {"c": 1}}}}`,
			Snapshot{"a": {Counters: map[string]Value{"c": Int(1)}, Stats: map[string]Value{}}}},
		{"numbers", `{"a": {"stats": {"stats": {"i": -12, "big": 12345678901234567890, "f": 1.5e3, "z": -0, "e": 1E2, "huge": 1e400}}}}`,
			Snapshot{"a": {Counters: map[string]Value{}, Stats: map[string]Value{"i": Int(-12), "big": Float(12345678901234567890), "f": Float(1500), "z": Int(0), "e": Float(100), "huge": Null}}}},
		{"duplicate id: last wins", `{"a": {"nickname": "one"}, "a": {"nickname": "two"}}`,
			Snapshot{"a": {Nickname: "two", Counters: map[string]Value{}, Stats: map[string]Value{}}}},
		{"whitespace", " \n\t{ \"a\" : { \"timestamp\" : 5 } }\r\n", Snapshot{"a": {Timestamp: 5, Counters: map[string]Value{}, Stats: map[string]Value{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%s)\n got %v\nwant %v", tt.in, dump(got), dump(tt.want))
			}
		})
	}
}

func dump(s Snapshot) string { return string(Marshal(s)) }

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty file", ``, "line 1, column 1: a snapshot is a JSON object of node id to node, found the end of the file"},
		{"array", `[]`, "line 1, column 1: a snapshot is a JSON object"},
		{"truncated", `{"a": {"timestamp": 1`, "line 1, column 22: expected ',' or '}' in an object, found the end of the file"},
		{"node not object", `{"a": 5}`, `line 1, column 7: node "a": a node is an object`},
		{"string value", "{\"a\": {\"stats\": {\n\"stats\": {\"x\": \"1\"}}}}", `line 2, column 16: node "a": stats "x": expected a number or null, found a string`},
		{"bool value", `{"a": {"stats": {"counters": {"x": true}}}}`, `node "a": counters "x": expected a number or null, found a boolean`},
		{"bad number", `{"a": {"stats": {"counters": {"x": 01}}}}`, `expected ',' or '}' in an object, found a number`},
		{"bad fraction", `{"a": {"stats": {"counters": {"x": 1.}}}}`, `expected a digit after the decimal point`},
		{"stats not object", `{"a": {"stats": []}}`, `node "a": stats must be an object`},
		{"counters not object", `{"a": {"stats": {"counters": 1}}}`, `node "a": counters must be an object`},
		{"nickname not string", `{"a": {"nickname": 1}}`, `node "a": nickname must be a string, found a number`},
		{"timestamp string", `{"a": {"timestamp": "1"}}`, `node "a": timestamp: expected a number or null, found a string`},
		{"trailing garbage", `{} x`, `line 1, column 4: 'x' after the end of the snapshot`},
		{"trailing comma", `{"a": {},}`, `expected a string key, found '}'`},
		{"control char", "{\"a\x01\": {}}", `control character '\x01' in a string`},
		{"unterminated string", `{"abc`, `line 1, column 2: unterminated string`},
		{"bad escape", `{"a\q": {}}`, `bad string`},
		{"deep nesting", `{"a": {"x": ` + strings.Repeat("[", 1000), `nested more than`},
		{"NaN timestamp", `{"a": {"timestamp": NaN}}`, `timestamp: expected a number or null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = nil error, want %q", tt.in, tt.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error\n got %q\nwant it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseSelect(t *testing.T) {
	t.Parallel()
	in := `{"a": {"nickname": "n", "timestamp": 3, "stats": {"counters": {"c1": 1, "c2": 2}, "stats": {"s1": 1.5, "c1": 9}}}, "b": {}}`
	sel := &Select{Counters: map[string]bool{"c2": true}, Stats: map[string]bool{"c1": true}}
	got, err := ParseSelect([]byte(in), sel)
	if err != nil {
		t.Fatal(err)
	}
	want := Snapshot{
		"a": {Nickname: "n", Timestamp: 3, Counters: map[string]Value{"c2": Int(2)}, Stats: map[string]Value{"c1": Int(9)}},
		"b": {Counters: map[string]Value{}, Stats: map[string]Value{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s\nwant %s", dump(got), dump(want))
	}
	// Dropped values are still checked.
	if _, err := ParseSelect([]byte(`{"a": {"stats": {"stats": {"x": "bad"}}}}`), &Select{}); err == nil {
		t.Error("a bad value that is not selected passed")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	s := Snapshot{
		"b-node": {Nickname: "über \"quoted\"\n\x01", Timestamp: 1764000000.123456,
			Counters: map[string]Value{"z": Int(math.MaxInt64), "a": Int(-1)},
			Stats:    map[string]Value{"f": Float(0.1), "w": Float(3), "n": Null, "e": Float(1e-300)}},
		"a-node": {Nickname: "", Timestamp: 0, Counters: map[string]Value{}, Stats: map[string]Value{}},
	}
	b := Marshal(s)
	if !json.Valid(b) {
		t.Fatalf("Marshal wrote invalid JSON:\n%s", b)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal): %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("round trip\n got %s\nwant %s", dump(got), dump(s))
	}
	want := "{\n" +
		`"a-node": {"timestamp": 0.0, "nickname": "", "stats": {"counters": {}, "stats": {}}},` + "\n" +
		`"b-node": {"timestamp": 1764000000.123456, "nickname": "über \"quoted\"\n\u0001", "stats": {"counters": {"a": -1, "z": 9223372036854775807}, "stats": {"e": 1e-300, "f": 0.1, "n": null, "w": 3.0}}}` + "\n}\n"
	want = strings.Replace(want, "\"quoted\\\"\n", "\"quoted\\\"\\n", 1)
	if string(b) != want {
		t.Errorf("Marshal\n got %s\nwant %s", b, want)
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	t.Parallel()
	got := string(AppendString(nil, "a\xffb\u2028"))
	if got != "\"a\\ufffdb\u2028\"" {
		t.Errorf("AppendString = %q", got)
	}
	var s string
	if err := json.Unmarshal([]byte(got), &s); err != nil || s != "a\ufffdb\u2028" {
		t.Errorf("decodes to %q, %v", s, err)
	}
}

func TestValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		v           Value
		json, munin string
	}{
		{"null", Null, "null", "U"},
		{"int", Int(-42), "-42", "-42"},
		{"float", Float(0.5), "0.5", "0.5"},
		{"whole float", Float(2), "2.0", "2"},
		{"big float", Float(1.5e6), "1500000.0", "1500000"},
		{"huge float", Float(1.5e16), "1.5e+16", "1.5e+16"},
		{"tiny float", Float(1e-5), "1e-05", "1e-05"},
		{"nan", Float(math.NaN()), "null", "U"},
		{"inf", Float(math.Inf(-1)), "null", "U"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(tt.v.AppendJSON(nil)); got != tt.json {
				t.Errorf("AppendJSON = %q, want %q", got, tt.json)
			}
			if got := string(AppendMunin(nil, tt.v)); got != tt.munin {
				t.Errorf("AppendMunin = %q, want %q", got, tt.munin)
			}
		})
	}
}

func TestUnix(t *testing.T) {
	t.Parallel()
	tm := time.Date(2025, 11, 24, 16, 0, 0, 500_000_000, time.UTC)
	if got := Unix(tm); got != 1764000000.5 {
		t.Errorf("Unix = %v", got)
	}
	if got := FromUnix(1764000000.5); !got.Equal(tm) {
		t.Errorf("FromUnix = %v", got)
	}
	for _, s := range []float64{math.NaN(), math.Inf(1), -1e300} {
		_ = FromUnix(s) // must not panic
	}
}
