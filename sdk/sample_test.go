package sdk

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// nodeStats returns, for each node of an encoded WriteRequest, its
// encoded stats as they are in it.
func nodeStats(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if num == 2 {
			node, _ := protowire.ConsumeBytes(b)
			var st []byte
			for len(node) > 0 {
				num, typ, n := protowire.ConsumeTag(node)
				node = node[n:]
				n = protowire.ConsumeFieldValue(num, typ, node)
				if num == 4 {
					st, _ = protowire.ConsumeBytes(node)
				}
				node = node[n:]
			}
			out = append(out, st)
		}
		b = b[n:]
	}
	return out
}

// withEncodedSamples returns r with its nodes carrying their encoding
// (encodedSample of the stats as encoded in want, r's encoding), except
// the nodes of at most one stat when mixed: their maps encode the same
// way whatever the order of the maps.
func withEncodedSamples(t testing.TB, r Round, want []byte, mixed bool) Round {
	stats := nodeStats(t, want)
	if len(stats) != len(r.Nodes) {
		t.Fatalf("%d nodes encoded, want %d", len(stats), len(r.Nodes))
	}
	out := Round{Time: r.Time}
	for i, n := range r.Nodes {
		if mixed && n.Stats.Len() <= 1 {
			out.Nodes = append(out.Nodes, n)
			continue
		}
		out.Nodes = append(out.Nodes, encodedSample(n.ID, n.Nickname, n.Timestamp, stats[i]))
	}
	return out
}

func sampleRounds() []Round {
	rounds := testRounds()
	at := time.Unix(1700000000, 0)
	small := func(id string) NodeSample {
		return NodeSample{ID: id, Nickname: "small", Timestamp: at, Stats: Stats{Counters: map[string]int64{"one.counter": 7}}}
	}
	mixed := Round{Time: at, Nodes: []NodeSample{small("first")}}
	mixed.Nodes = append(mixed.Nodes, rounds[2].Nodes[:3]...)
	mixed.Nodes = append(mixed.Nodes, small("middle"), small("middle2"), NodeSample{ID: "empty"})
	mixed.Nodes = append(mixed.Nodes, rounds[2].Nodes[3:6]...)
	mixed.Nodes = append(mixed.Nodes, small("last"))
	noTime := Round{Nodes: append([]NodeSample{}, mixed.Nodes...)}
	return append(rounds, mixed, noTime)
}

// TestEncodedSampleSameBytes: a round whose nodes carry their encoding,
// all or some, is sent as exactly the bytes of the same round encoded
// from maps, each node's bytes without a copy, and decodes (decoded, and
// on the plugin side) to the same round.
func TestEncodedSampleSameBytes(t *testing.T) {
	for i, r := range sampleRounds() {
		want := encodeRound(r).Materialize()
		for _, mixed := range []bool{false, true} {
			name := fmt.Sprintf("round %d, mixed %v", i, mixed)
			er := withEncodedSamples(t, r, want, mixed)
			data := er.withSharedEncoding().encoded()
			if got := data.Materialize(); !bytes.Equal(got, want) {
				t.Fatalf("%s: encoded as\n%x\nwant\n%x", name, got, want)
			}
			for j, n := range er.Nodes {
				if !n.carriesEncoding() {
					continue
				}
				if cap(n.enc) != len(n.enc) {
					t.Errorf("%s, node %d: %d bytes for %d", name, j, cap(n.enc), len(n.enc))
				}
				shared := false
				for _, buf := range data {
					shared = shared || &buf.ReadOnlyData()[0] == &n.enc[0]
				}
				if !shared {
					t.Errorf("%s, node %d: its bytes copied", name, j)
				}
			}
			var d roundDecoder
			exp, eerr := d.decode(codec.Raw{want})
			dec, derr := er.decoded()
			if (eerr == nil) != (derr == nil) {
				t.Fatalf("%s: decoded error %v, want %v", name, derr, eerr)
			}
			for j, n := range dec.Nodes {
				if !er.Nodes[j].carriesEncoding() {
					continue // left as it is
				}
				w := exp.Nodes[j]
				if n.carriesEncoding() || n.ID != w.ID || n.Nickname != w.Nickname || !n.Timestamp.Equal(w.Timestamp) || !reflect.DeepEqual(n.Stats, w.Stats) {
					t.Fatalf("%s, node %d: decoded\n%#v\nwant\n%#v", name, j, n, w)
				}
			}
		}
	}
}

// TestCanonical: stats encoded as the sdk encodes valid Stats are
// canonical, anything else is not, and negative counters are counted.
func TestCanonical(t *testing.T) {
	enc := func(p *proto.Stats) []byte {
		b, err := gproto.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	valid := &proto.Stats{CounterNames: []string{"a.c", "b.c"}, CounterValues: []int64{1, -2},
		IntNames: []string{"a.i"}, IntValues: []int64{-3}, FloatNames: []string{"a.f", "b.f"}, FloatValues: []float64{1.5, -0.25},
		NullNames: []string{"a.n"}}
	packedTwice := protowire.AppendTag(enc(&proto.Stats{CounterNames: []string{"a", "b"}, CounterValues: []int64{1}}), 2, protowire.BytesType)
	packedTwice = protowire.AppendBytes(packedTwice, []byte{2})
	unpacked := protowire.AppendTag(enc(&proto.Stats{CounterNames: []string{"a"}}), 2, protowire.VarintType)
	unpacked = protowire.AppendVarint(unpacked, 1)
	unknown := protowire.AppendTag(enc(valid), 9, protowire.VarintType)
	unknown = protowire.AppendVarint(unknown, 1)
	outOfOrder := append(enc(&proto.Stats{IntNames: []string{"x"}, IntValues: []int64{1}}), enc(&proto.Stats{CounterNames: []string{"y"}, CounterValues: []int64{1}})...)
	longVarint := protowire.AppendTag(enc(&proto.Stats{CounterNames: []string{"a"}}), 2, protowire.BytesType)
	longVarint = protowire.AppendBytes(longVarint, []byte{0x81, 0x00})
	emptyPacked := protowire.AppendTag(nil, 2, protowire.BytesType)
	emptyPacked = protowire.AppendBytes(emptyPacked, nil)
	for _, c := range []struct {
		name     string
		b        []byte
		ok       bool
		negative int
	}{
		{"empty", nil, true, 0},
		{"valid", enc(valid), true, 1},
		{"invalid name", enc(&proto.Stats{NullNames: []string{"a..b"}}), false, 0},
		{"counter twice", enc(&proto.Stats{CounterNames: []string{"a", "a"}, CounterValues: []int64{1, 2}}), false, 0},
		{"stat twice", enc(&proto.Stats{IntNames: []string{"a"}, IntValues: []int64{1}, NullNames: []string{"a"}}), false, 0},
		{"counter and stat", enc(&proto.Stats{CounterNames: []string{"a"}, CounterValues: []int64{1}, NullNames: []string{"a"}}), true, 0},
		{"fewer values", enc(&proto.Stats{CounterNames: []string{"a", "b"}, CounterValues: []int64{1}}), false, 0},
		{"more values", enc(&proto.Stats{FloatNames: []string{"a"}, FloatValues: []float64{1, 2}}), false, 0},
		{"NaN", enc(&proto.Stats{FloatNames: []string{"a"}, FloatValues: []float64{math.NaN()}}), false, 0},
		{"infinity", enc(&proto.Stats{FloatNames: []string{"a"}, FloatValues: []float64{math.Inf(-1)}}), false, 0},
		{"values in two fields", packedTwice, false, 0},
		{"unpacked", unpacked, false, 0},
		{"unknown field", unknown, false, 0},
		{"out of order", outOfOrder, false, 0},
		{"long varint", longVarint, false, 0},
		{"empty packed", emptyPacked, false, 0},
		{"truncated", enc(valid)[:5], false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d codec.StatsDecoder
			for pass := range 2 { // names new, then interned
				neg, ok := d.Canonical(c.b)
				if ok != c.ok || neg != c.negative {
					t.Fatalf("pass %d: Canonical = %d, %v; want %d, %v", pass, neg, ok, c.negative, c.ok)
				}
			}
			if c.ok {
				checkCanonical(t, &d, c.b)
			}
		})
	}
}

// checkCanonical checks what Canonical promises of b: Decode gives its
// stats with no error, an output receives the same from an encodedSample
// of it, and those stats encode to b again (in some order).
func checkCanonical(t *testing.T, d *codec.StatsDecoder, b []byte) {
	t.Helper()
	want, err := d.Decode(b)
	if err != nil {
		t.Fatalf("canonical, but Decode: %v", err)
	}
	if size := codec.StatsSize(want); size != len(b) {
		t.Fatalf("canonical stats of %d bytes encode again to %d", len(b), size)
	}
	n, err := encodedSample("id", "nick", time.Unix(1, 2), b).decoded()
	if err != nil {
		t.Fatalf("canonical, but decoding the sample: %v", err)
	}
	if !reflect.DeepEqual(n.Stats, want) {
		t.Fatalf("sample decodes to %v, want %v", n.Stats, want)
	}
	if got, err := codec.StatsFromProto(mustUnmarshal(t, b)); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("generic decoding: %v, %v; want %v", got, err, want)
	}
}

func mustUnmarshal(t *testing.T, b []byte) *proto.Stats {
	var p proto.Stats
	if err := gproto.Unmarshal(b, &p); err != nil {
		t.Fatalf("canonical, but the generic decoding fails: %v", err)
	}
	return &p
}

// FuzzCanonical: whatever the bytes, stats found canonical are sent on as
// they are and decode, on the plugin side, to the stats the gatherer's
// decoding (the map path) gives them, with no error.
func FuzzCanonical(f *testing.F) {
	for _, r := range sampleRounds() {
		for _, st := range nodeStats(f, encodeRound(r).Materialize()) {
			f.Add(st)
		}
	}
	f.Add([]byte{0x0a, 0x01, 'a', 0x12, 0x01, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d codec.StatsDecoder
		for range 2 {
			if _, ok := d.Canonical(b); ok {
				checkCanonical(t, &d, b)
			}
		}
	})
}

// BenchmarkEncodeRound: what a daemon's output client does to send a
// round of 10,000 nodes of 100 stats (half counters, half floats), once
// for every output of a shared round: nodes with maps are encoded into
// one buffer of the round's size; nodes that carry their encoding
// (encodedSample, as the gatherer's hosts' answers) are only listed.
func BenchmarkEncodeRound(b *testing.B) {
	at := time.Unix(1700000000, 0)
	maps := Round{Time: at}
	for i := range 10000 {
		st := NewStats()
		for j := range 100 {
			if j%2 == 0 {
				st.Counters[fmt.Sprintf("loadgen.counter_%03d", j)] = int64(i * (j + 1))
			} else {
				st.Stats[fmt.Sprintf("loadgen.stat_%03d", j)] = Float(float64(i) / float64(j+1))
			}
		}
		maps.Nodes = append(maps.Nodes, NodeSample{ID: fmt.Sprintf("node%05d", i), Nickname: "loadgen", Timestamp: at, Stats: st})
	}
	encoded := withEncodedSamples(b, maps, encodeRound(maps).Materialize(), false)
	for _, c := range []struct {
		name string
		r    Round
	}{{"maps", maps}, {"encoded", encoded}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c.r.withSharedEncoding().encoded().Len() == 0 {
					b.Fatal("nothing encoded")
				}
			}
		})
	}
}
