package stat

import (
	"encoding/json"
	"math"
	"testing"
)

func TestValueJSON(t *testing.T) {
	tests := []struct {
		name string
		v    Value
		want string
	}{
		{"int", Int(12), "12"},
		{"negative int", Int(-3), "-3"},
		{"float keeps its point", Float(1), "1.0"},
		{"float", Float(0.25), "0.25"},
		{"big float", Float(1.5e300), "1.5e+300"},
		{"null", Null, "null"},
		{"NaN is null", Float(math.NaN()), "null"},
		{"Inf is null", Float(math.Inf(1)), "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("marshal = %s, want %s", b, tt.want)
			}
			var back Value
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back != tt.v && !(back.IsNull() && tt.v.IsNull()) {
				t.Errorf("round trip = %#v, want %#v", back, tt.v)
			}
		})
	}
}

func TestValueUnmarshalErrors(t *testing.T) {
	for _, in := range []string{`"12"`, `true`, `[]`, `{}`, `1x`, ``} {
		t.Run(in, func(t *testing.T) {
			var v Value
			if err := v.UnmarshalJSON([]byte(in)); err == nil {
				t.Errorf("unmarshal %q: no error, got %v", in, v)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"load_monitor.avg_load", true},
		{"cpu_monitor.1min_avg", true},
		{"a-b.c_d.E9", true},
		{"", false},
		{"a..b", false},
		{".a", false},
		{"a.", false},
		{"a b", false},
		{"a:b", false},
		{"ü", false},
		{string(make([]byte, MaxNameLen+1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidName(tt.name); (err == nil) != tt.ok {
				t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func FuzzValueJSON(f *testing.F) {
	for _, s := range []string{"1", "1.0", "-0", "null", "1e400", "9223372036854775808", `"x"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Value
		if err := v.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %#v: %v", v, err)
		}
		var back Value
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-reading %s: %v", out, err)
		}
		if back.String() != v.String() {
			t.Fatalf("round trip %s -> %s", v, back)
		}
	})
}
