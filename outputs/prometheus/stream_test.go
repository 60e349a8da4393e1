package prometheus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// streamRounds are plugintest.FleetRounds, 2 minutes apart, so that a
// node gone after the first is stale at round 3, with a name that
// collides once the nodes' values pass 500.
func streamRounds(t0 time.Time) []sdk.Round {
	return plugintest.FleetRounds(t0, 2*time.Minute, time.Hour, func(id, nick string, ts time.Time, i int, extra string) sdk.NodeSample {
		st := plugintest.FleetStats(i)
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
	})
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
