package plugin

import (
	"regexp"
	"testing"
	"unicode/utf8"
)

func TestFieldName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, nickname, id string
		// Tahoe's names per character (stats.json era) and per byte
		// (stats.pickle era), and the field names munin gets.
		chars, bytes, charField, byteField string
	}{
		{"plain", "storage01", "xgru5adktjjhqwdb", "storage01_xgru", "storage01_xgru", "storage01_xgru", "storage01_xgru"},
		{"dash", "storage-01", "xgru5adk", "storage_01_xgru", "storage_01_xgru", "storage_01_xgru", "storage_01_xgru"},
		{"dot and space", "a b.c", "abcd", "a_b_c_abcd", "a_b_c_abcd", "a_b_c_abcd", "a_b_c_abcd"},
		// Per character: one '_' a letter; per byte: two for ü.
		{"latin-1 letter", "über", "abcd1234", "_ber_abcd", "__ber_abcd", "_ber_abcd", "__ber_abcd"},
		{"cjk and emoji", "日本🚀", "efgh", "____efgh", "___________efgh", "____efgh", "___________efgh"},
		{"emoji", "a😀", "abcd", "a__abcd", "a_____abcd", "a__abcd", "a_____abcd"},
		{"invalid utf-8", "a\xffb", "abcd", "a_b_abcd", "a_b_abcd", "a_b_abcd", "a_b_abcd"},
		{"leading digit", "9lives", "7wkl2dkm", "9lives_7wkl", "9lives_7wkl", "_lives_7wkl", "_lives_7wkl"},
		{"empty nickname", "", "anon2zpq", "_anon", "_anon", "_anon", "_anon"},
		{"short id", "n", "ab", "n_ab", "n_ab", "n_ab", "n_ab"},
		{"empty id", "n", "", "n_", "n_", "n_", "n_"},
		// The id's first 4 characters, or bytes.
		{"odd id", "n", "a-éxyz", "n_a__x", "n_a___", "n_a__x", "n_a___"},
		{"underscore kept as is", "a__b", "abcd", "a__b_abcd", "a__b_abcd", "a__b_abcd", "a__b_abcd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				naming       Naming
				tahoe, field string
			}{{PerCharacter, tt.chars, tt.charField}, {PerByte, tt.bytes, tt.byteField}} {
				if got := TahoeName(tt.nickname, tt.id, c.naming); got != c.tahoe {
					t.Errorf("TahoeName(%q, %q, %v) = %q, want %q", tt.nickname, tt.id, c.naming, got, c.tahoe)
				}
				if got := FieldName(tt.nickname, tt.id, c.naming); got != c.field {
					t.Errorf("FieldName(%q, %q, %v) = %q, want %q", tt.nickname, tt.id, c.naming, got, c.field)
				}
			}
		})
	}
}

func TestFieldNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []NodeKey
		want  map[string]string
	}{
		{"no collision", []NodeKey{{"abcd1111", "a"}, {"efgh2222", "a"}},
			map[string]string{"abcd1111": "a_abcd", "efgh2222": "a_efgh"}},
		{"same nickname and prefix: smallest id keeps the name", []NodeKey{{"twinbbbbkp4j", "twin"}, {"twinaaaaqxz2", "twin"}},
			map[string]string{"twinaaaaqxz2": "twin_twin", "twinbbbbkp4j": "twin_twin_bbbb"}},
		{"smashing makes names equal", []NodeKey{{"abcd1111", "node-x"}, {"abcd2222", "node.x"}, {"abcd3333", "node x"}},
			map[string]string{"abcd1111": "node_x_abcd", "abcd2222": "node_x_abcd_2222", "abcd3333": "node_x_abcd_3333"}},
		{"longer id part when the next 4 collide", []NodeKey{{"abcd2222xxxx", "n"}, {"abcd2222yyyy", "n"}, {"abcd1111", "n"}},
			map[string]string{"abcd1111": "n_abcd", "abcd2222xxxx": "n_abcd_2222", "abcd2222yyyy": "n_abcd_2222yyyy"}},
		{"never takes another node's own name", []NodeKey{{"abcd1111", "n"}, {"abcd2222", "n"}, {"2222zzzz", "n_abcd"}},
			map[string]string{"abcd1111": "n_abcd", "2222zzzz": "n_abcd_2222", "abcd2222": "n_abcd_2"}},
		{"short ids fall back to numbers", []NodeKey{{"abc!", "n"}, {"abc?", "n"}, {"abc-", "n"}},
			map[string]string{"abc!": "n_abc_", "abc-": "n_abc__2", "abc?": "n_abc__3"}},
		{"leading digit names collide with underscore names", []NodeKey{{"abcd1111", "9x"}, {"abcd2222", "_x"}},
			map[string]string{"abcd1111": "_x_abcd", "abcd2222": "_x_abcd_2222"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := FieldNames(tt.nodes, PerByte)
			if len(got) != len(tt.want) {
				t.Fatalf("FieldNames = %v, want %v", got, tt.want)
			}
			for id, w := range tt.want {
				if got[id] != w {
					t.Errorf("node %s: %q, want %q (all: %v)", id, got[id], w, got)
				}
			}
			// The order of the input does not matter.
			rev := make([]NodeKey, len(tt.nodes))
			for i, n := range tt.nodes {
				rev[len(rev)-1-i] = n
			}
			for id, n := range FieldNames(rev, PerByte) {
				if got[id] != n {
					t.Errorf("reversed input: node %s named %q, was %q", id, n, got[id])
				}
			}
		})
	}
}

var validField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FuzzFieldName checks that every name is one munin takes as is, that
// TahoeName keeps one '_' per byte or per character, and that FieldNames
// are unique, under both namings.
func FuzzFieldName(f *testing.F) {
	f.Add("storage-01", "xgru5adktjjhqwdb", "twin")
	f.Add("über", "xyzw1234", "9lives")
	f.Add("", "", "日本")
	f.Fuzz(func(t *testing.T, nickname, id, other string) {
		for _, naming := range []Naming{PerCharacter, PerByte} {
			n := FieldName(nickname, id, naming)
			if !validField.MatchString(n) {
				t.Fatalf("FieldName(%q, %q, %v) = %q is not a valid munin field name", nickname, id, naming, n)
			}
			want := len(nickname) + 1 + min(4, len(id))
			if naming == PerCharacter {
				want = utf8.RuneCountInString(nickname) + 1 + min(4, utf8.RuneCountInString(id))
			}
			if got := len(TahoeName(nickname, id, naming)); got != want {
				t.Fatalf("TahoeName(%q, %q, %v) has %d bytes, want %d", nickname, id, naming, got, want)
			}
			nodes := []NodeKey{{id, nickname}, {id + "x", nickname}, {id + "y", other}, {other, nickname}, {other + id, other}}
			names := FieldNames(nodes, naming)
			seen := map[string]string{}
			for nid, name := range names {
				if !validField.MatchString(name) {
					t.Fatalf("FieldNames gave %q to %q", name, nid)
				}
				if prev, ok := seen[name]; ok {
					t.Fatalf("FieldNames gave %q to both %q and %q", name, prev, nid)
				}
				seen[name] = nid
			}
			for _, nk := range nodes {
				if _, ok := names[nk.ID]; !ok {
					t.Fatalf("node %q got no name", nk.ID)
				}
			}
		}
	})
}
