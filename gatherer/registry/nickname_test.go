package registry

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanNickname(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"plain", "storage-01", "storage-01"},
		{"control characters dropped", "a\x00b\nc\x7f", "abc"},
		{"empty", "", "unnamed"},
		{"only control characters", "\x01\x02", "unnamed"},
		{"long ASCII cut at 200", strings.Repeat("a", 300), strings.Repeat("a", 200)},
		// 199 ASCII bytes then a 3-byte character: cutting at 200 bytes
		// would split it.
		{"cut at a character boundary", strings.Repeat("a", 199) + "日本", strings.Repeat("a", 199)},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := CleanNickname(tc.in)
			if got != tc.want {
				t.Errorf("CleanNickname(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) || len(got) > maxNickname {
				t.Errorf("CleanNickname(%q) = %q: not valid UTF-8 or over %d bytes", tc.in, got, maxNickname)
			}
		})
	}
}

func FuzzCleanNickname(f *testing.F) {
	f.Add("storage-01")
	f.Add(strings.Repeat("é", 150))
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanNickname(s)
		if !utf8.ValidString(got) || len(got) > maxNickname || got == "" {
			t.Fatalf("CleanNickname(%q) = %q", s, got)
		}
	})
}
