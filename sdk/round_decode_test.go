package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

func testRounds() []Round {
	at := time.Unix(1700000000, 123)
	big := Round{Time: at}
	for i := range 50 {
		st := NewStats()
		for j := range 20 {
			st.Counters[fmt.Sprintf("fleet.counter_%02d", j)] = int64(i * j)
			st.Stats[fmt.Sprintf("fleet.float_%02d", j)] = Float(float64(i) / float64(j+1))
		}
		st.Stats["fleet.int"] = Int(-int64(i))
		st.Stats["fleet.null"] = Null
		big.Nodes = append(big.Nodes, NodeSample{ID: fmt.Sprintf("node%03d", i), Nickname: "nick ü", Timestamp: at.Add(time.Duration(i)), Stats: st})
	}
	return []Round{
		{Nodes: []NodeSample{}},
		{Time: at, Nodes: []NodeSample{{ID: "a", Stats: NewStats()}}},
		big,
		{Time: at, Nodes: []NodeSample{{ID: "labels", Timestamp: at, Stats: Stats{
			Counters: map[string]int64{`http.requests{route="/login",status="500"}`: 3, "http.requests": 1, `x{a="é \"q\"\n"}`: 2},
			Stats:    map[string]Value{`disk.free{device="sda1",mountpoint="/"}`: Int(5), `cpu.seconds{cpu="0",mode="idle"}`: Float(1.5), `up{job="x"}`: Null}}}}},
		{Time: at, Nodes: []NodeSample{
			{ID: "bad", Nickname: "n", Timestamp: at, Stats: Stats{
				Counters: map[string]int64{"ok.c": 1, "bad name": 2, "x..y": 3, `x{b="1",a="2"}`: 4, `x{a=1}`: 5},
				Stats:    map[string]Value{"ok.f": Float(1.5), "": Int(1), "ok.n": Null, "bad/null": Null}}},
			{ID: "good", Stats: Stats{Counters: map[string]int64{"ok.c": -5}, Stats: map[string]Value{}}},
		}},
	}
}

// TestRoundDecoderMatchesProto: the plugin side's decoder gives the same
// round and error as the generic decoding, for the same bytes, and again
// from its interned names in a later round.
func TestRoundDecoderMatchesProto(t *testing.T) {
	var d roundDecoder
	eachTestRound(t, func(_ Round, b []byte, what string) { checkSameRound(t, &d, b, what) })
}

// eachTestRound calls fn with each of testRounds and its generic
// encoding, twice over (names interned by the first pass).
func eachTestRound(t *testing.T, fn func(r Round, b []byte, what string)) {
	t.Helper()
	for pass := range 2 {
		for i, r := range testRounds() {
			b, err := gproto.Marshal(roundToProto(r))
			if err != nil {
				t.Fatal(err)
			}
			fn(r, b, fmt.Sprintf("pass %d, round %d", pass, i))
		}
	}
}

// TestRoundDecoderMalformed: lists of names and values that differ in
// length, or a truncated message, are errors as in the generic decoding.
func TestRoundDecoderMalformed(t *testing.T) {
	var d roundDecoder
	w := &proto.WriteRequest{Nodes: []*proto.NodeSample{{Id: "a", Stats: &proto.Stats{CounterNames: []string{"a.b", "a.c"}, CounterValues: []int64{1}}}}}
	b, _ := gproto.Marshal(w)
	checkSameRound(t, &d, b, "mismatched lists")
	if _, err := d.decode(codec.Raw{b[:len(b)-1]}); err == nil {
		t.Error("truncated message: no error")
	}
}

func checkSameRound(t *testing.T, d *roundDecoder, b []byte, what string) {
	t.Helper()
	var w proto.WriteRequest
	if err := gproto.Unmarshal(b, &w); err != nil {
		return // the generic decoding refuses it; the decoder must only not panic
	}
	want, werr := roundFromProto(&w)
	for _, in := range splits(b) {
		got, gerr := d.decode(in)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Fatalf("%s, in %d pieces: error %v, want %v", what, len(in), gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s, in %d pieces: decoded\n%#v\nwant\n%#v", what, len(in), got, want)
		}
	}
}

// splits returns b whole and cut in pieces of several sizes, as gRPC
// hands a received message over in its buffers.
func splits(b []byte) []codec.Raw {
	out := []codec.Raw{{b}}
	for _, size := range []int{1, 2, 7, 64, 1000} {
		if size >= len(b) {
			break
		}
		var in codec.Raw
		for p := b; len(p) > 0; p = p[min(size, len(p)):] {
			in = append(in, p[:min(size, len(p))])
		}
		out = append(out, in)
	}
	return out
}

// TestEncodeRound: a round encoded straight from its maps, shared or not,
// decodes (generically) to the round roundToProto makes, and is the same
// size as its generic encoding.
func TestEncodeRound(t *testing.T) {
	for i, r := range testRounds() {
		for _, rr := range []Round{r, r.withSharedEncoding()} {
			data := rr.encoded()
			for j, buf := range data {
				if u := buf.ReadOnlyData(); cap(u) != len(u) {
					t.Errorf("round %d, buffer %d: %d bytes for %d", i, j, cap(u), len(u))
				}
			}
			b := data.Materialize()
			var back proto.WriteRequest
			if err := gproto.Unmarshal(b, &back); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			want := roundToProto(r)
			if n := gproto.Size(want); n != len(b) {
				t.Errorf("round %d: %d bytes, generic encoding %d", i, len(b), n)
			}
			got, gerr := roundFromProto(&back)
			exp, eerr := roundFromProto(want)
			if (gerr == nil) != (eerr == nil) || !reflect.DeepEqual(got, exp) {
				t.Errorf("round %d: decodes to\n%#v\nwant\n%#v", i, got, exp)
			}
		}
	}
	r := testRounds()[2].withSharedEncoding()
	a, b := r.encoded(), r.encoded()
	if &a[0].ReadOnlyData()[0] != &b[0].ReadOnlyData()[0] {
		t.Error("shared round encoded twice")
	}
}

func FuzzRoundDecoder(f *testing.F) {
	for _, r := range testRounds() {
		b, _ := gproto.Marshal(roundToProto(r))
		f.Add(b)
	}
	// For the walk across buffers: the round's time after its nodes, an
	// unknown field of each wire type, and a group (which falls back).
	node := encodeRound(testRounds()[1]).Materialize()
	f.Add(append(slices.Clone(node), 0x08, 0x2a))
	f.Add(append(slices.Clone(node), 0x18, 0x01, 0x25, 1, 2, 3, 4, 0x29, 1, 2, 3, 4, 5, 6, 7, 8, 0x32, 0x01, 'x'))
	f.Add(append(slices.Clone(node), 0x3b, 0x08, 0x01, 0x3c))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d roundDecoder
		checkSameRound(t, &d, b, "fuzzed")
		checkSameRound(t, &d, b, "fuzzed, names interned")
		checkSameStream(t, &d, b, "fuzzed, node by node")
		var fresh roundDecoder
		checkSameStream(t, &fresh, b, "fuzzed, node by node, fresh decoder")
	})
}

// TestStatsDecoderMatchesProto: the gatherer's decoding of answers gives
// StatsFromProto's stats and errors, with names shared between nodes.
func TestStatsDecoderMatchesProto(t *testing.T) {
	var d codec.StatsDecoder
	for pass := range 2 {
		for i, r := range testRounds() {
			for j, n := range r.Nodes {
				p := codec.StatsToProto(n.Stats)
				b, err := gproto.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				want, werr := codec.StatsFromProto(p)
				got, gerr := d.Decode(b)
				if fmt.Sprint(werr) != fmt.Sprint(gerr) || !reflect.DeepEqual(got, want) {
					t.Fatalf("pass %d, round %d, node %d: got %v, %v; want %v, %v", pass, i, j, got, gerr, want, werr)
				}
			}
		}
		d.EndRound()
	}
	if _, err := d.Decode([]byte{0x0a, 0x05, 'a'}); !errors.Is(err, codec.ErrMalformed) {
		t.Errorf("truncated stats: %v, want codec.ErrMalformed", err)
	}
}

// TestStatsDecoderConcurrent: readers decode at once, and a round ends
// meanwhile (run with -race).
func TestStatsDecoderConcurrent(t *testing.T) {
	var d codec.StatsDecoder
	r := testRounds()[2]
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i, n := range r.Nodes {
				b, _ := gproto.Marshal(codec.StatsToProto(n.Stats))
				got, err := d.Decode(b)
				if err != nil || !reflect.DeepEqual(got, n.Stats) {
					t.Errorf("reader %d, node %d: %v", g, i, err)
					return
				}
				if g == 0 && i%10 == 0 {
					d.EndRound()
				}
			}
		})
	}
	wg.Wait()
}
