package wire

import (
	"testing"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/proto"
)

func answerSeeds() [][]byte {
	var out [][]byte
	for _, m := range []*Message{
		NewAnswer(&Answer{Id: 7, Stats: &proto.Stats{CounterNames: []string{"a.b", "a.c"}, CounterValues: []int64{1, -2},
			FloatNames: []string{"f.x"}, FloatValues: []float64{0.5}, NullNames: []string{"n.y"}}}),
		NewAnswer(&Answer{Id: 8, Error: "collector failed"}),
		NewAnswer(&Answer{}),
		NewPoll(3, 1000),
		NewHello("s", "n", map[string]string{"a": "b"}),
	} {
		b, err := gproto.Marshal(m)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// TestDecodeAnswer: an answer's id, error and stats as Decode has them;
// another kind of message is left to Decode.
func TestDecodeAnswer(t *testing.T) {
	for i, b := range answerSeeds() {
		checkDecodeAnswer(t, b)
		_, ok, err := DecodeAnswer(b)
		if err != nil || ok != (i < 3) {
			t.Errorf("message %d: ok %v, %v", i, ok, err)
		}
	}
}

func checkDecodeAnswer(t *testing.T, b []byte) {
	t.Helper()
	a, ok, err := DecodeAnswer(b)
	m, derr := Decode(b)
	if err != nil {
		if derr == nil {
			t.Fatalf("DecodeAnswer: %v; Decode: no error", err)
		}
		return
	}
	if !ok {
		return
	}
	if derr != nil {
		// Only the stats' own content may be malformed: left to the
		// stats decoder, which refuses it.
		if gproto.Unmarshal(a.Stats, &proto.Stats{}) == nil {
			t.Fatalf("DecodeAnswer took what Decode refuses (%v)", derr)
		}
		return
	}
	pa := m.GetAnswer()
	if pa == nil {
		t.Fatalf("DecodeAnswer took a %s", Kind(m))
	}
	var st proto.Stats
	if err := gproto.Unmarshal(a.Stats, &st); err != nil {
		t.Fatalf("stats bytes: %v", err)
	}
	want := pa.GetStats()
	if want == nil {
		want = &proto.Stats{}
	}
	if a.ID != pa.Id || a.Error != pa.Error || !gproto.Equal(&st, want) {
		t.Fatalf("got id %d error %q stats %v, want %d %q %v", a.ID, a.Error, &st, pa.Id, pa.Error, want)
	}
	if n := len(st.CounterNames) + len(st.IntNames) + len(st.FloatNames) + len(st.NullNames); a.Names != n {
		t.Fatalf("names %d, want %d", a.Names, n)
	}
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, b := range answerSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeAnswer(t, b) })
}
