package snapshot

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	t.Parallel()
	wants := []Want{{Counters, "c"}, {Stats, "s"}, {Stats, "c"}}
	tests := []struct {
		name, in string
		want     string // the samples, one a line, by id
		problems string // the kinds met and their counts
	}{
		{"empty", `{}`, ``, ``},
		{"byte-order mark", "\ufeff" + `{"a": {"nickname": "n", "timestamp": 5, "stats": {"counters": {"c": 1}}}}`, `a n 5 [1 - -]`, ``},
		{"values as written", `{"a": {"stats": {"counters": {"c": 18446744073709551616}, "stats": {"s": 1.50, "c": -0}}}}`,
			`a  0 [18446744073709551616 1.50 -0]`, ``},
		{"unknown values", `{"a": {"stats": {"counters": {"c": null}, "stats": {"s": NaN, "c": -Infinity}}}}`, `a  0 [U U U]`, ``},
		{"wrong types are unknown", `{"a": {"stats": {"counters": {"c": true}, "stats": {"s": "1", "c": [1]}}}}`, `a  0 [U U U]`, `BadValue 3`},
		{"unwanted values of any type", `{"a": {"stats": {"counters": {"x": {"y": [true, "z"]}, "c": 2}, "stats": {"t": "u"}}}}`, `a  0 [2 - -]`, ``},
		{"null category", `{"a": {"stats": {"counters": null, "stats": {"s": 1}}}}`, `a  0 [- 1 -]`, `BadCategory 1`},
		{"malformed nodes", `{"a": 1, "b": {"nickname": 2}, "c": {"timestamp": "x"}, "d": {"stats": []}, "e": {}}`, `e  0 [- - -]`, `BadNode 4`},
		{"duplicate id: last good entry wins", `{"a": {"nickname": "one"}, "a": {"nickname": "two"}, "a": {"nickname": 3}}`, `a two 0 [- - -]`, `BadNode 1`},
		{"escaped keys", `{"a": {"stats": {"counters": {"\u0063": 7, "c\u00e9": 8}}}}`, `a  0 [7 - -]`, ``},
		{"keys in another order in the next node", `{"a": {"stats": {"counters": {"x": 1, "c": 2}}}, "b": {"stats": {"counters": {"c": 3, "x": 4}}}, "c": {"stats": {"counters": {"cc": 5, "x": 6}}}}`,
			"a  0 [2 - -]\nb  0 [3 - -]\nc  0 [- - -]", ``},
		{"a key the previous node had as a prefix", `{"a": {"stats": {"counters": {"c": 1}}}, "b": {"stats": {"counters": {"c2": 2, "c": 3}}}}`,
			"a  0 [1 - -]\nb  0 [3 - -]", ``},
		{"infinite timestamp", `{"a": {"timestamp": -Infinity}, "b": {"timestamp": 1e999}}`, "a  0 [- - -]\nb  0 [- - -]", ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rd, err := Read([]byte(tt.in), wants)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if got := dumpSamples(rd.Samples); got != tt.want {
				t.Errorf("samples\n got %s\nwant %s", got, tt.want)
			}
			var ps []string
			for _, p := range rd.Problems {
				ps = append(ps, fmt.Sprintf("%s %d", []string{"BadValue", "BadCategory", "BadNode"}[p.Kind], p.Count))
				if !strings.HasPrefix(p.First, "line 1, column ") {
					t.Errorf("problem %v has no place", p)
				}
			}
			if got := strings.Join(ps, ", "); got != tt.problems {
				t.Errorf("problems %q, want %q (%v)", got, tt.problems, rd.Problems)
			}
		})
	}
}

// dumpSamples writes samples as "id nickname timestamp [values]", sorted by id;
// a value is its token, U when unknown, - when missing.
func dumpSamples(ss []Sample) string {
	var lines []string
	for _, s := range ss {
		var vs []string
		for _, v := range s.Values {
			switch {
			case !v.Has:
				vs = append(vs, "-")
			case v.Tok == "":
				vs = append(vs, "U")
			default:
				vs = append(vs, v.Tok)
			}
		}
		lines = append(lines, fmt.Sprintf("%s %s %v [%s]", s.ID, s.Nickname, s.Timestamp, strings.Join(vs, " ")))
	}
	slicesSort(lines)
	return strings.Join(lines, "\n")
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"not JSON", "<html>", "line 1, column 1: a snapshot is a JSON object of node id to node, found '<'"},
		{"top level array", `[]`, "found an array"},
		{"truncated", `{"a": {"stats": {"counters": {"c": 1`, "line 1, column 37: expected ',' or '}' in an object, found the end of the file"},
		{"truncated key", `{"a": {"stats": {"counters": {"c`, "unterminated string"},
		{"missing colon", `{"a": {"stats": {"counters": {"c" 1}}}}`, "expected ':' after an object key, found a number"},
		{"bad number", `{"a": {"stats": {"counters": {"x": 01}}}}`, "expected ',' or '}' in an object, found a number"},
		{"bad wanted number", `{"a": {"stats": {"counters": {"c": 1.}}}}`, `node "a": counters "c": expected a digit after the decimal point`},
		{"control character in a key", "{\"a\": {\"stats\": {\"counters\": {\"x\x01\": 1}}}}", `control character '\x01' in a string`},
		{"garbage after", `{} x`, "'x' after the end of the snapshot"},
		{"byte-order mark twice", "\ufeff\ufeff{}", "a snapshot is a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Read([]byte(tt.in), []Want{{Counters, "c"}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read(%q) error %v, want %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestNumberAppendMunin(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]string{
		"":                                "U",
		"12":                              "12",
		"-0":                              "0",
		"18446744073709551616":            "18446744073709551616",
		"-123456789012345678901234567890": "-123456789012345678901234567890",
		"0.5":                             "0.5",
		"2.0":                             "2",
		"1e400":                           "U",
		"1.5e3":                           "1500",
		"1E-5":                            "1e-05",
	} {
		if got := string(Number{Tok: tok, Has: true}.AppendMunin(nil)); got != want {
			t.Errorf("Number %q = %q, want %q", tok, got, want)
		}
	}
}

// TestSpecial8 checks the 8-bytes-at-a-time string scan against the byte
// table, for every byte value at every place.
func TestSpecial8(t *testing.T) {
	t.Parallel()
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			x := uint64(0)
			for i := 7; i >= 0; i-- {
				x = x<<8 | uint64(b[i])
			}
			if got, want := special8(x), !plain[c]; got != want {
				t.Fatalf("special8(%q) = %v, want %v", b, got, want)
			}
		}
	}
}

// TestDigits checks the 8-at-a-time digit scan against a plain loop.
func TestDigits(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("0123456789.e-/:\x00\xff9")
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(24))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte('0' + r.IntN(10))
			}
			if r.IntN(50) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		start := 0
		if len(b) > 0 {
			start = r.IntN(len(b) + 1)
		}
		want := start
		for want < len(b) && b[want] >= '0' && b[want] <= '9' {
			want++
		}
		if got := digits(b, start); got != want {
			t.Fatalf("digits(%q, %d) = %d, want %d", b, start, got, want)
		}
	}
}

// FuzzRead checks that Read never panics, accepts whatever Parse accepts
// and agrees with it there, and fails only where Parse fails too.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"xyz": {"timestamp": 1764000000.5, "nickname": "storage-01", "stats": {"counters": {"storage_server.allocate": 12}, "stats": {"load_monitor.avg_load": 0.01, "x": null}}}}`))
	f.Add([]byte("\ufeff" + `{"a": {"stats": {"counters": {"c": true, "d": 18446744073709551616}, "stats": null}}, "b": 5, "c": {"nickname": 1}}`))
	f.Add([]byte(`{"a": {"stats": {"counters": {"c": 1, "d": 2}}}, "b": {"stats": {"counters": {"c": 3, "dd": 4, "\u0064": 5}}}}`))
	f.Add(tahoeLike(3))
	f.Fuzz(func(t *testing.T, data []byte) {
		wants := []Want{{Counters, "c"}, {Counters, "d"}, {Stats, "storage_server.allocate"}, {Stats, "load_monitor.avg_load"}, {Counters, "storage_server.allocate"}}
		rd, err := Read(data, wants)
		snap, perr := Parse(data)
		if perr == nil {
			if err != nil {
				t.Fatalf("Parse accepted what Read refused: %v", err)
			}
			if len(rd.Problems) > 0 {
				t.Fatalf("problems in what Parse accepted: %v", rd.Problems)
			}
			if len(rd.Samples) != len(snap) {
				t.Fatalf("%d samples, Parse found %d nodes", len(rd.Samples), len(snap))
			}
			for _, s := range rd.Samples {
				n := snap[s.ID]
				if n == nil || n.Nickname != s.Nickname || n.Timestamp != s.Timestamp {
					t.Fatalf("sample %+v, Parse: %+v", s, n)
				}
				for i, w := range wants {
					v, ok := n.Values(w.Category)[w.Name]
					got := s.Values[i]
					if ok != got.Has {
						t.Fatalf("node %q %v: Has %v, Parse %v", s.ID, w, got.Has, ok)
					}
					if !ok {
						continue
					}
					want := string(AppendMunin(nil, v))
					if g := string(got.AppendMunin(nil)); g != want && !(isIntToken(got.Tok) && len(got.Tok) > 18) {
						t.Fatalf("node %q %v: %s, Parse %s", s.ID, w, g, want)
					}
				}
			}
		}
		if err == nil && !bytes.HasPrefix(data, byteOrderMark) {
			// What Read accepts is JSON: it may differ from Parse only in
			// the types of values.
			if perr != nil && strings.Contains(perr.Error(), "after the end") {
				t.Fatalf("Read accepted trailing garbage Parse refused: %v", perr)
			}
		}
	})
}
