package munin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// streamRounds are plugintest.FleetRounds, 20 minutes apart, so that a
// node gone after the first is forgotten (an hour) at round 4; a stat that
// comes and goes is both a counter and a stat.
func streamRounds() []sdk.Round {
	return plugintest.FleetRounds(t0, 20*time.Minute, 3*time.Hour, func(id, nick string, ts time.Time, i int, extra string) sdk.NodeSample {
		st := plugintest.FleetStats(i)
		if extra != "" {
			st.Counters[extra] = int64(i)
			st.Stats[extra] = sdk.Int(int64(i)) // a counter and a stat may share a name
		}
		return sdk.NodeSample{ID: id, Nickname: nick, Timestamp: ts, Stats: st}
	})
}

// TestStreamedSameAsRound: the output served node by node (its
// sdk.NodeWriter) writes, after every round, the same snapshot bytes as
// when it is handed whole Rounds, and fails the same rounds.
func TestStreamedSameAsRound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	streamed := plugintest.Output(t, New(hclog.NewNullLogger()))
	rounds := plugintest.Output(t, plugintest.RoundsOnly(New(hclog.NewNullLogger())))
	paths := []string{filepath.Join(dir, "streamed.json"), filepath.Join(dir, "rounds.json")}
	for i, o := range []sdk.Output{streamed, rounds} {
		if err := o.Configure(ctx, config(t, map[string]any{"path": paths[i], "forget_after": int64(time.Hour)})); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range streamRounds() {
		serr, rerr := streamed.Write(ctx, r), rounds.Write(ctx, r)
		if (serr == nil) != (rerr == nil) {
			t.Fatalf("round %d: streamed error %v, round error %v", i, serr, rerr)
		}
		s, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(paths[1])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s, want) {
			t.Fatalf("round %d: streamed snapshot\n%s\nwant\n%s", i, s, want)
		}
		if i == 3 && !bytes.Contains(s, []byte(`"id05"`)) || i == 4 && bytes.Contains(s, []byte(`"id03"`)) {
			t.Fatalf("round %d: the rounds do not exercise coming back and forgetting:\n%s", i, s)
		}
	}
}
