package stat

import (
	"strings"
	"testing"
)

func TestSeries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stat   string
		labels []Label
		want   string
		err    string
	}{
		{name: "no labels", stat: "a.b", want: "a.b"},
		{name: "sorted", stat: "http.requests", labels: []Label{{"status", "500"}, {"route", "/login"}},
			want: `http.requests{route="/login",status="500"}`},
		{name: "escaped", stat: "x", labels: []Label{{"v", "a\"b\\c\nd"}}, want: `x{v="a\"b\\c\nd"}`},
		{name: "empty value", stat: "x", labels: []Label{{"k", ""}}, want: `x{k=""}`},
		{name: "bad name", stat: "x..y", labels: []Label{{"k", "v"}}, err: "empty part"},
		{name: "bad label", stat: "x", labels: []Label{{"1k", "v"}}, err: "label names are"},
		{name: "reserved", stat: "x", labels: []Label{{"__name__", "v"}}, err: "reserves"},
		{name: "twice", stat: "x", labels: []Label{{"k", "v"}, {"k", "w"}}, err: "twice"},
		{name: "long value", stat: "x", labels: []Label{{"k", strings.Repeat("é", 65)}}, err: "longer than 128"},
		{name: "not utf-8", stat: "x", labels: []Label{{"k", "\xff"}}, err: "UTF-8"},
		{name: "too many", stat: "x", labels: many(17), err: "more than 16"},
		{name: "sixteen", stat: "x", labels: many(16), want: "x{" + strings.TrimSuffix(strings.Repeat(`l="v",`, 0), ",")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Series(tc.stat, tc.labels...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Series = %q, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "sixteen" && got != tc.want {
				t.Fatalf("Series = %q, want %q", got, tc.want)
			}
			if err := ValidSeries(got); err != nil {
				t.Fatalf("ValidSeries(%q): %v", got, err)
			}
			if SeriesName(got) != tc.stat {
				t.Errorf("SeriesName(%q) = %q", got, SeriesName(got))
			}
			back := Labels(got)
			if len(back) != len(tc.labels) {
				t.Fatalf("Labels(%q) = %q", got, back)
			}
			again, err := Series(tc.stat, back...)
			if err != nil || again != got {
				t.Errorf("Series(Labels(%q)) = %q, %v", got, again, err)
			}
		})
	}
}

func many(n int) []Label {
	var ls []Label
	for i := range n {
		ls = append(ls, Label{"l" + string(rune('a'+i)), "v"})
	}
	return ls
}

func TestValidSeriesRefusesOtherSpellings(t *testing.T) {
	t.Parallel()
	for _, key := range []string{
		`x{}`, `x{a="1"`, `x{a=1}`, `x{b="1",a="2"}`, `x{a="1",a="2"}`, `x{a="1",}`,
		`x{a="\q"}`, "x{a=\"\n\"}", `x{a="1"}x`, `x{a="1"b="2"}`, `{a="1"}`, `x{1a="1"}`, `x{a="1"}}`,
	} {
		if err := ValidSeries(key); err == nil {
			t.Errorf("ValidSeries(%q) = nil, want an error", key)
		}
	}
}

// TestFoldAsTaggedStatsd: Fold spells a series as tagged statsd lines
// have always been named (host's taggedName), for tags that are labels.
func TestFold(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"a.b": "a.b",
		`http.requests{route="/login",status="500"}`: "http.requests.route__login.status_500",
		`x{a="x",a1="y"}`: "x.a1_y.a_x", // sorted as "a1:y" < "a:x"
		`x{env=""}`:       "x.env",
		`x{k="é.v"}`:      "x.k____v",
	} {
		if got := Fold(key); got != want {
			t.Errorf("Fold(%q) = %q, want %q", key, got, want)
		}
	}
}

func FuzzValidSeries(f *testing.F) {
	f.Add(`x{a="1",b="\"\\\n"}`)
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, key string) {
		if ValidSeries(key) != nil {
			return
		}
		again, err := Series(SeriesName(key), Labels(key)...)
		if err != nil || again != key {
			t.Fatalf("valid %q rebuilt as %q, %v", key, again, err)
		}
		_ = Fold(key)
	})
}
