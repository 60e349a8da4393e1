package prometheus

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// streamRounds are rounds that exercise the fleet: nodes that come,
// change names and nicknames, miss rounds, come back in a coalesced round
// (older samples among newer ones), go stale and are forgotten, a name
// that collides, and a round refused for an invalid name.
func streamRounds(t0 time.Time) []sdk.Round {
	node := func(id, nick string, ts time.Time, i int, extra string) sdk.NodeSample {
		st := sdk.NewStats()
		for j := range 20 {
			st.Counters[fmt.Sprintf("fleet.c%02d", j)] = int64(i*j + 1)
			st.Stats[fmt.Sprintf("fleet.f%02d", j)] = sdk.Float(float64(i) / float64(j+3))
		}
		st.Stats["fleet.i"] = sdk.Int(int64(-i))
		st.Stats["fleet.n"] = sdk.Null
		if extra != "" {
			st.Stats[extra] = sdk.Int(int64(i))
		}
		if extra != "" && i >= 500 {
			// The same Prometheus name, once the first has it (within
			// one round, which of the two is first seen is up to the
			// maps' order).
			st.Stats[strings.ReplaceAll(extra, ".", "_")] = sdk.Int(1)
		}
		return sdk.NodeSample{ID: id, Nickname: nick, Timestamp: ts, Stats: st}
	}
	var rounds []sdk.Round
	for r := range 6 {
		at := t0.Add(time.Duration(r) * 2 * time.Minute)
		var nodes []sdk.NodeSample
		for i := range 12 {
			switch {
			case i == 3 && r >= 1:
				continue // gone after round 0: stale at round 3
			case i == 5 && (r == 1 || r == 2):
				continue // misses rounds 1 and 2, back in the coalesced round 3
			}
			ts := at.Add(-time.Duration(i) * time.Second)
			if r == 3 && i%2 == 0 {
				ts = at.Add(-2 * time.Minute) // coalesced: the older round's sample
			}
			extra := ""
			if i%3 == 0 && r%2 == 1 {
				extra = "shape.changes"
			}
			nick := fmt.Sprintf("node-%02d", i)
			if i == 7 && r >= 2 {
				nick = "renamed ü \"7\""
			}
			nodes = append(nodes, node(fmt.Sprintf("id%02d", i), nick, ts, r*100+i, extra))
		}
		rounds = append(rounds, sdk.Round{Time: at, Nodes: nodes})
	}
	bad := rounds[2]
	bad.Nodes = append([]sdk.NodeSample{{ID: "bad", Stats: sdk.Stats{Counters: map[string]int64{"bad name": 1}, Stats: map[string]sdk.Value{}}}}, rounds[5].Nodes...)
	return append(rounds, bad, sdk.Round{Time: t0.Add(time.Hour)})
}

// TestStreamedSameAsRound: the output served node by node (its
// sdk.NodeWriter) serves, after every round, the same page as when it is
// handed whole Rounds, and fails the same rounds.
func TestStreamedSameAsRound(t *testing.T) {
	ctx := context.Background()
	t0 := time.Unix(1764000000, 0)
	var now time.Time
	streamedImpl, _ := start(t, t0)
	roundsImpl, _ := start(t, t0)
	streamedImpl.now = func() time.Time { return now }
	roundsImpl.now = func() time.Time { return now }
	streamed := plugintest.Output(t, streamedImpl)
	rounds := plugintest.Output(t, plugintest.RoundsOnly(roundsImpl))
	for i, r := range streamRounds(t0) {
		now = r.Time
		serr, rerr := streamed.Write(ctx, r), rounds.Write(ctx, r)
		if (serr == nil) != (rerr == nil) {
			t.Fatalf("round %d: streamed error %v, round error %v", i, serr, rerr)
		}
		s, want := exposition(t, streamedImpl), exposition(t, roundsImpl)
		if s != want {
			t.Fatalf("round %d: streamed page\n%s\nwant\n%s", i, s, want)
		}
		if i == 5 && !strings.Contains(s, "statsherd stat shape.changes") {
			t.Fatalf("round %d: the rounds do not exercise a collision:\n%s", i, s)
		}
		if i == 3 && !strings.Contains(s, `node="id05"`) || i == 3 && strings.Contains(s, `node="id03"`) {
			t.Fatalf("round %d: the rounds do not exercise coming back and going stale:\n%s", i, s)
		}
	}
}
