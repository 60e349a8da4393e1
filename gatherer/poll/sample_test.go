package poll

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
	"github.com/statsherd/statsherd/sdk/proto"
)

// TestSampleAsBefore: a host's stats become the node's sample with the
// same stats, drops and errors as when every answer was decoded into
// maps; they stay encoded exactly when nothing is dropped or changed.
func TestSampleAsBefore(t *testing.T) {
	t.Parallel()
	for _, c := range sampleCases(t) {
		t.Run(c.name, func(t *testing.T) {
			s := checkSampleAsBefore(t, c.stats)
			if daemon.Encoded(s) != c.encoded {
				t.Errorf("encoded %v, want %v", daemon.Encoded(s), c.encoded)
			}
		})
	}
}

type sampleCase struct {
	name    string
	stats   []byte
	encoded bool
}

func sampleCases(t testing.TB) []sampleCase {
	enc := func(p *proto.Stats) []byte {
		b, err := gproto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []sampleCase{
		{"usual", enc(&proto.Stats{CounterNames: []string{"a.c", "b.c"}, CounterValues: []int64{1, 2},
			FloatNames: []string{"a.f"}, FloatValues: []float64{0.5}, IntNames: []string{"a.i"}, IntValues: []int64{-1}, NullNames: []string{"a.n"}}), true},
		{"empty", nil, true},
		{"negative counters", enc(&proto.Stats{CounterNames: []string{"a.c", "b.c", "c.c"}, CounterValues: []int64{1, -2, math.MinInt64}}), false},
		{"invalid names", enc(&proto.Stats{CounterNames: []string{"a.c", "bad name"}, CounterValues: []int64{1, 2}, NullNames: []string{".x"}}), false},
		{"invalid and negative", enc(&proto.Stats{CounterNames: []string{"a..c", "b.c"}, CounterValues: []int64{-1, -2}}), false},
		{"named twice", enc(&proto.Stats{CounterNames: []string{"a.c", "a.c"}, CounterValues: []int64{-1, 2}}), false},
		{"NaN", enc(&proto.Stats{FloatNames: []string{"a.f"}, FloatValues: []float64{math.NaN()}}), false},
		{"lists differ", enc(&proto.Stats{CounterNames: []string{"a.c", "b.c"}, CounterValues: []int64{1}}), false},
		{"malformed", []byte{0x0a, 0x09, 'a'}, false},
	}
}

// checkSampleAsBefore checks that the sample of stats has the stats,
// drops, counts and error that decoding them into maps and dropping
// negative counters gave before answers stayed encoded, and returns it.
func checkSampleAsBefore(t *testing.T, stats []byte) sdk.NodeSample {
	t.Helper()
	var q, before quotas
	at := time.Unix(1700000000, 5)
	var s sdk.NodeSample
	for range 2 { // names new, then interned
		var invalid error
		var neg int
		var err error
		s, invalid, neg, err = q.sample("nodeid", "nick", at, stats)
		want, werr := before.names.Decode(stats)
		if errors.Is(werr, daemon.ErrMalformed) {
			if err == nil {
				t.Fatalf("malformed stats: no error")
			}
			continue
		}
		wantNeg := dropNegative(want.Counters)
		if err != nil || fmt.Sprint(invalid) != fmt.Sprint(werr) || neg != wantNeg {
			t.Fatalf("sample: invalid %v, %d negative, error %v; want %v, %d, none", invalid, neg, err, werr, wantNeg)
		}
		d, err := daemon.Decoded(s)
		if err != nil {
			t.Fatal(err)
		}
		if d.ID != "nodeid" || d.Nickname != "nick" || !d.Timestamp.Equal(at) || !reflect.DeepEqual(d.Stats, want) {
			t.Fatalf("sample %#v, want stats %#v", d, want)
		}
	}
	return s
}

// TestDropNegative: negative counters are dropped and counted; zero is a
// counter's first value, kept.
func TestDropNegative(t *testing.T) {
	t.Parallel()
	c := map[string]int64{"zero": 0, "one": 1, "minus_one": -1, "min": math.MinInt64, "max": math.MaxInt64}
	if n := dropNegative(c); n != 2 || !reflect.DeepEqual(c, map[string]int64{"zero": 0, "one": 1, "max": math.MaxInt64}) {
		t.Errorf("dropped %d, kept %v: want 2 dropped, zero, one and max kept", n, c)
	}
}

// FuzzSample: whatever a host sends as its stats, its node's sample is
// as when every answer was decoded into maps.
func FuzzSample(f *testing.F) {
	for _, c := range sampleCases(f) {
		f.Add(c.stats)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkSampleAsBefore(t, b) })
}
