package munin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// streamRounds are rounds that exercise the model: nodes that come, change
// names, kinds and nicknames, miss rounds, come back in a coalesced round
// (older samples among newer ones), go stale and are forgotten, and a
// round refused for an invalid name.
func streamRounds() []sdk.Round {
	node := func(id, nick string, ts time.Time, i int, extra string) sdk.NodeSample {
		st := sdk.NewStats()
		for j := range 20 {
			st.Counters[fmt.Sprintf("fleet.c%02d", j)] = int64(i*j + 1)
			st.Stats[fmt.Sprintf("fleet.f%02d", j)] = sdk.Float(float64(i) / float64(j+3))
		}
		st.Stats["fleet.i"] = sdk.Int(int64(-i))
		st.Stats["fleet.n"] = sdk.Null
		if extra != "" {
			st.Counters[extra] = int64(i)
			st.Stats[extra] = sdk.Int(int64(i)) // a counter and a stat may share a name
		}
		return sdk.NodeSample{ID: id, Nickname: nick, Timestamp: ts, Stats: st}
	}
	var rounds []sdk.Round
	for r := range 6 {
		at := t0.Add(time.Duration(r) * 20 * time.Minute)
		var nodes []sdk.NodeSample
		for i := range 12 {
			switch {
			case i == 3 && r >= 1:
				continue // gone after round 0: forgotten at round 4
			case i == 5 && (r == 1 || r == 2):
				continue // misses rounds 1 and 2, back in the coalesced round 3
			}
			ts := at.Add(-time.Duration(i) * time.Second)
			if r == 3 && i%2 == 0 {
				ts = at.Add(-20 * time.Minute) // coalesced: the older round's sample
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
		if r == 2 {
			nodes = append(nodes, sdk.NodeSample{ID: "zero", Stats: sdk.NewStats()}) // no time, no stats
		}
		rounds = append(rounds, sdk.Round{Time: at, Nodes: nodes})
	}
	bad := rounds[2]
	bad.Nodes = append([]sdk.NodeSample{{ID: "bad", Stats: sdk.Stats{Counters: map[string]int64{"bad name": 1}, Stats: map[string]sdk.Value{}}}}, rounds[5].Nodes...)
	return append(rounds, bad, sdk.Round{Time: t0.Add(3 * time.Hour)})
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
