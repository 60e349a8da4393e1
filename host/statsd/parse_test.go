package statsd

import (
	"github.com/hashicorp/go-hclog"

	"math"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want metric
		why  dropReason
	}{
		{line: "a.b:1|c", want: metric{kind: kindCounter, delta: 1}},
		{line: "storage_server.allocate:12|c", want: metric{kind: kindCounter, delta: 12}},
		{line: "a:0|c", want: metric{kind: kindCounter, delta: 0}},
		{line: "a:1|c|@0.1", want: metric{kind: kindCounter, delta: 10}},
		{line: "a:3|c|@0.5", want: metric{kind: kindCounter, delta: 6}},
		{line: "a:1|c|@1", want: metric{kind: kindCounter, delta: 1}},
		{line: "a:1|c|@0.3", want: metric{kind: kindCounter, delta: 3}},
		{line: "a:2.5|c", want: metric{kind: kindCounter, delta: 3}},
		{line: "a:9223372036854775807|c", want: metric{kind: kindCounter, delta: math.MaxInt64}},
		{line: "a:-1|c", why: dropValue},
		{line: "a:x|c", why: dropValue},
		{line: "a:|c", why: dropValue},
		{line: "a:1e300|c|@0.0001", why: dropValue},
		{line: "a:NaN|c", why: dropValue},
		{line: "a:1|c|@0", why: dropRate},
		{line: "a:1|c|@2", why: dropRate},
		{line: "a:1|c|@-1", why: dropRate},
		{line: "a:1|c|@x", why: dropRate},
		{line: "a:1|c|0.5", why: dropSyntax},
		{line: "a:1|c|#tag:x", want: metric{kind: kindCounter, delta: 1}},
		{line: "a:1|c|@0.5|#tag", want: metric{kind: kindCounter, delta: 2}},
		{line: "a:1|c|#tag|@0.5|c:abc|T1700000000", want: metric{kind: kindCounter, delta: 2}},
		{line: "a:1|c|card:low|e:x", want: metric{kind: kindCounter, delta: 1}},
		{line: "a:1:2:3|c", want: metric{kind: kindCounter, delta: 6}},
		{line: "a:1|c||#x", why: dropSyntax},
		{line: "a:1|c|#x|", why: dropSyntax},
		{line: "a:1|c|x", why: dropSyntax},
		{line: "g:0.25|g", want: metric{kind: kindGauge, value: 0.25}},
		{line: "g:12|g", want: metric{kind: kindGauge, value: 12, ival: 12, isInt: true}},
		{line: "g:1e3|g", want: metric{kind: kindGauge, value: 1000}},
		{line: "g:-3|g", want: metric{kind: kindGauge, value: -3, ival: -3, isInt: true, relative: true}},
		{line: "g:+0.5|g", want: metric{kind: kindGauge, value: 0.5, relative: true}},
		{line: "g:5|g|@0.1", want: metric{kind: kindGauge, value: 5, ival: 5, isInt: true}},
		{line: "g:Inf|g", why: dropValue},
		{line: "g:nan|g", why: dropValue},
		{line: "g:|g", why: dropValue},
		{line: "t:320|ms", want: metric{kind: kindTimer, value: 320}},
		{line: "h:1.5|h|@0.5", want: metric{kind: kindHistogram, value: 1.5}},
		{line: "d:1:2:3|d", want: metric{kind: kindDistribution, value: 1}},
		{line: "d:1:x|d", why: dropValue},
		{line: "t:Inf|ms", why: dropValue},
		{line: "s:user1|s", want: metric{kind: kindSet}},
		{line: "_e{5,4}:title|text", why: dropType},
		{line: "_sc|check|0", why: dropType},
		{line: "a:1|x", why: dropType},
		{line: "a:1|", why: dropSyntax},
		{line: "a:1", why: dropSyntax},
		{line: "a", why: dropSyntax},
		{line: ":1|c", why: dropSyntax},
		{line: "a:1|c:2|c", why: dropSyntax},
		{line: "a b:1|c", why: dropName},
		{line: "a..b:1|c", why: dropName},
		{line: ".a:1|c", why: dropName},
		{line: "a.:1|c", why: dropName},
		{line: "é:1|c", why: dropName},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			got, why := parseLine([]byte(tt.line))
			if why != tt.why {
				t.Fatalf("reason %q, want %q", why, tt.why)
			}
			if why != dropNone {
				return
			}
			name := string(got.name)
			got.name, tt.want.name = nil, nil
			if got.kind != tt.want.kind || got.delta != tt.want.delta || got.value != tt.want.value ||
				got.ival != tt.want.ival || got.isInt != tt.want.isInt || got.relative != tt.want.relative {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if name == "" || tt.line[:len(name)] != name {
				t.Errorf("name %q is not the start of the line", name)
			}
		})
	}
}

func TestHandlePacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		packets  []string
		counters map[string]int64
		stats    map[string]sdk.Value
		dropped  int64
	}{
		{"counters add up", []string{"a:1|c\na:2|c", "a:3|c\n"}, map[string]int64{"a": 6}, nil, 0},
		{"crlf and empty lines", []string{"a:1|c\r\n\r\n\nb:2|c\r\n"}, map[string]int64{"a": 1, "b": 2}, nil, 0},
		{"gauge set", []string{"g:1|g\ng:2.5|g"}, nil, map[string]sdk.Value{"g": sdk.Float(2.5)}, 0},
		{"gauge relative", []string{"g:10|g\ng:-3|g\ng:+1|g"}, nil, map[string]sdk.Value{"g": sdk.Int(8)}, 0},
		{"gauge relative float", []string{"g:1|g\ng:+0.5|g"}, nil, map[string]sdk.Value{"g": sdk.Float(1.5)}, 0},
		{"relative from nothing", []string{"g:-2|g"}, nil, map[string]sdk.Value{"g": sdk.Int(-2)}, 0},
		{"negative gauge as the client sends it", []string{"g:0|g\ng:-4.5|g"}, nil, map[string]sdk.Value{"g": sdk.Float(-4.5)}, 0},
		{"garbage dropped, rest kept", []string{"a:1|c\n\x00\xff\nb c:1|c\nb:1|q\nc:1|c"}, map[string]int64{"a": 1, "c": 1}, nil, 3},
		{"counter saturates", []string{"a:9223372036854775807|c\na:5|c"}, map[string]int64{"a": math.MaxInt64}, nil, 0},
		{"too many names", []string{"a:1|c\nb:1|c\nc:1|g\nd:1|c\na:1|c"}, map[string]int64{"a": 2, "b": 1}, map[string]sdk.Value{"c": sdk.Int(1)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &Server{store: NewStore(3, time.Hour), log: hclog.NewNullLogger()}
			for _, p := range tt.packets {
				s.handle([]byte(p))
			}
			st := sdk.NewStats()
			s.store.addTo(st, true)
			if !equalCounters(st.Counters, tt.counters) {
				t.Errorf("counters %v, want %v", st.Counters, tt.counters)
			}
			if !equalStats(st.Stats, tt.stats) {
				t.Errorf("stats %v, want %v", st.Stats, tt.stats)
			}
			own := sdk.NewStats()
			s.AddTo(own)
			if got := own.Counters["statsherd.statsd.dropped"]; got != tt.dropped {
				t.Errorf("dropped %d, want %d", got, tt.dropped)
			}
			if got := own.Counters["statsherd.statsd.packets"]; got != int64(len(tt.packets)) {
				t.Errorf("packets %d, want %d", got, len(tt.packets))
			}
		})
	}
}

func equalCounters(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func equalStats(a, b map[string]sdk.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// FuzzParseLine checks that no line crashes the parser, that an accepted
// line has a name sdk.ValidName accepts and a counter delta that is not
// negative, and that validName agrees with sdk.ValidName.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"a.b:1|c", "a:1|c|@0.5", "g:-1.5|g", "g:+2|g", "t:1|ms", "a..b:1|c", "a:1|c|#x:y", ":|", "a:1e400|c",
		"h:1:2:3|h|@0.5|#k:v,z", "s:member|s", "d:1|d|c:abc|T12|card:low", "_e{1,1}:a|b", "a:1|c|#" + strings.Repeat("x", 300)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, why := parseLine(line)
		if why == dropNone {
			if err := sdk.ValidName(string(m.name)); err != nil {
				t.Fatalf("accepted %q with invalid name: %v", line, err)
			}
			if m.kind == kindCounter && m.delta < 0 {
				t.Fatalf("accepted %q with negative delta %d", line, m.delta)
			}
			if m.kind == kindGauge && (math.IsNaN(m.value) || math.IsInf(m.value, 0)) {
				t.Fatalf("accepted %q with gauge %v", line, m.value)
			}
		}
		if got, want := validName(line), sdk.ValidName(string(line)) == nil; got != want {
			t.Fatalf("validName(%q) = %v, sdk.ValidName says %v", line, got, want)
		}
		s := &Server{store: NewStore(10, time.Hour), log: hclog.NewNullLogger()}
		s.handle(line)
		st := sdk.NewStats()
		s.store.addTo(st, true)
		for k := range st.Counters {
			if sdk.ValidSeries(k) != nil || sdk.ValidName(stat.Fold(k)) != nil {
				t.Fatalf("%q made counter %q", line, k)
			}
		}
		for k := range st.Stats {
			if sdk.ValidSeries(k) != nil || sdk.ValidName(stat.Fold(k)) != nil {
				t.Fatalf("%q made stat %q", line, k)
			}
		}
		// The name munin sees is the name it saw before labels.
		if m, why := parseLine(line); why == dropNone && len(m.tags) > 0 && len(st.Counters)+len(st.Stats) > 0 && (m.kind == kindCounter || m.kind == kindGauge) {
			want := string(taggedName(m.name, m.tags))
			if _, ok := sdk.FoldStats(st).Counters[want]; !ok && m.kind == kindCounter {
				t.Fatalf("%q: counters %v, none folds to %q", line, st.Counters, want)
			}
			if _, ok := sdk.FoldStats(st).Stats[want]; !ok && m.kind == kindGauge {
				t.Fatalf("%q: stats %v, none folds to %q", line, st.Stats, want)
			}
		}
	})
}
