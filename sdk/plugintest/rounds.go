package plugintest

import (
	"fmt"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// FleetStats are node i's stats in FleetRounds: 20 counters, 20 floats,
// an integer and a null, all named fleet.*, with values that move with i.
func FleetStats(i int) sdk.Stats {
	st := sdk.NewStats()
	for j := range 20 {
		st.Counters[fmt.Sprintf("fleet.c%02d", j)] = int64(i*j + 1)
		st.Stats[fmt.Sprintf("fleet.f%02d", j)] = sdk.Float(float64(i) / float64(j+3))
	}
	st.Stats["fleet.i"] = sdk.Int(int64(-i))
	st.Stats["fleet.n"] = sdk.Null
	return st
}

// FleetRounds are rounds that exercise an output's model of the fleet, to
// compare two ways of writing them (e.g. whole Rounds and node by node):
// six rounds step apart from t0, of 12 nodes (id00 to id11) that
//
//   - go away (id03, after round 0),
//   - miss rounds and come back in a coalesced round (id05 misses rounds
//     1 and 2; in round 3 the even nodes carry the previous round's
//     time),
//   - change nickname (id07, from round 2, to one JSON escapes),
//   - gain and lose a stat (every third node has `extra` in odd rounds),
//
// plus, in round 2, a node with no time and no stats; then a round
// refused for an invalid name (round 2's nodes, then round 5's, behind a
// bad one), and an empty round at t0+end, when the gone nodes are stale.
// node makes node i's sample; value moves with the round and the node,
// and extra is "" or the name of the stat that comes and goes.
func FleetRounds(t0 time.Time, step, end time.Duration, node func(id, nick string, ts time.Time, value int, extra string) sdk.NodeSample) []sdk.Round {
	var rounds []sdk.Round
	for r := range 6 {
		at := t0.Add(time.Duration(r) * step)
		var nodes []sdk.NodeSample
		for i := range 12 {
			switch {
			case i == 3 && r >= 1:
				continue // gone after round 0
			case i == 5 && (r == 1 || r == 2):
				continue // misses rounds 1 and 2, back in the coalesced round 3
			}
			ts := at.Add(-time.Duration(i) * time.Second)
			if r == 3 && i%2 == 0 {
				ts = at.Add(-step) // coalesced: the older round's sample
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
	return append(rounds, bad, sdk.Round{Time: t0.Add(end)})
}
