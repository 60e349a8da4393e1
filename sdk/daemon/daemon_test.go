package daemon_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// TestEncodedSample: stats as a host encodes them are canonical, kept
// encoded in a sample and decoded back to themselves; malformed stats
// are ErrMalformed. (The sdk's own tests check the codec behind these
// against the proto decoder; this checks the daemon's way in.)
func TestEncodedSample(t *testing.T) {
	st := sdk.NewStats()
	st.Counters["a.b"] = 3
	st.Stats["c.d"] = sdk.Float(0.5)
	st.Stats["e.f"] = sdk.Null
	b, err := gproto.Marshal(daemon.StatsToProto(st))
	if err != nil {
		t.Fatal(err)
	}
	var d daemon.StatsDecoder
	if neg, ok := d.Canonical(b); !ok || neg != 0 {
		t.Fatalf("Canonical = %d, %v; want 0, true", neg, ok)
	}
	if got, err := d.Decode(b); err != nil || !reflect.DeepEqual(got, st) {
		t.Errorf("Decode = %v, %v; want %v", got, err, st)
	}
	at := time.Unix(1700000000, 5)
	n := daemon.EncodedSample("id", "nick", at, b)
	if !daemon.Encoded(n) || len(n.Stats.Counters)+len(n.Stats.Stats) != 0 {
		t.Fatalf("EncodedSample: encoded %v, stats %v", daemon.Encoded(n), n.Stats)
	}
	r, err := daemon.DecodedRound(daemon.SharedEncoding(sdk.Round{Time: at, Nodes: []sdk.NodeSample{n}}))
	if err != nil || daemon.Encoded(r.Nodes[0]) || !reflect.DeepEqual(r.Nodes[0].Stats, st) || r.Nodes[0].ID != "id" {
		t.Errorf("DecodedRound = %+v, %v; want the stats %v", r, err, st)
	}
	d.EndRound()
	if _, err := d.Decode([]byte{0x0a, 0x05, 'a'}); !errors.Is(err, daemon.ErrMalformed) {
		t.Errorf("truncated stats: %v, want ErrMalformed", err)
	}
}
