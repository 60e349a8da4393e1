package plugintest_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// TestEncodedSamplesOverGRPC: a round of nodes that carry their encoding
// (daemon.EncodedSample) and nodes with maps, larger than many HTTP/2
// frames, written shared to two outputs over the real transport, reaches
// both as the round decoded.
func TestEncodedSamplesOverGRPC(t *testing.T) {
	ctx := context.Background()
	at := time.Unix(1700000000, 0)
	r := sdk.Round{Time: at}
	for i := range 300 {
		st := sdk.NewStats()
		for j := range 50 {
			st.Counters[fmt.Sprintf("fleet.counter_%02d", j)] = int64(i * j)
			st.Stats[fmt.Sprintf("fleet.float_%02d", j)] = sdk.Float(float64(i) / float64(j+1))
		}
		id, nick, ts := fmt.Sprintf("node%03d", i), fmt.Sprintf("nick-%d", i), at.Add(time.Duration(i))
		if i%7 == 3 {
			r.Nodes = append(r.Nodes, sdk.NodeSample{ID: id, Nickname: nick, Timestamp: ts, Stats: st})
			continue
		}
		b, err := gproto.Marshal(daemon.StatsToProto(st))
		if err != nil {
			t.Fatal(err)
		}
		r.Nodes = append(r.Nodes, daemon.EncodedSample(id, nick, ts, b))
	}
	want, err := daemon.DecodedRound(r)
	if err != nil {
		t.Fatal(err)
	}
	shared := daemon.SharedEncoding(r)
	for i := range 2 {
		impl := &fakeOutput{}
		if err := plugintest.Output(t, impl).Write(ctx, shared); err != nil {
			t.Fatalf("output %d: %v", i, err)
		}
		if len(impl.rounds) != 1 {
			t.Fatalf("output %d: %d rounds", i, len(impl.rounds))
		}
		got := impl.rounds[0]
		if !got.Time.Equal(want.Time) || len(got.Nodes) != len(want.Nodes) {
			t.Fatalf("output %d: round at %v with %d nodes, want %v with %d", i, got.Time, len(got.Nodes), want.Time, len(want.Nodes))
		}
		for j, n := range got.Nodes {
			w := want.Nodes[j]
			if n.ID != w.ID || n.Nickname != w.Nickname || !n.Timestamp.Equal(w.Timestamp) || !reflect.DeepEqual(n.Stats, w.Stats) {
				t.Fatalf("output %d, node %d: got %+v, want %+v", i, j, n, w)
			}
		}
	}
}
