package gatherer

import (
	"runtime"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/sdk"
)

// Names of the gatherer's own stats (its own node in every round).
const (
	statPrefix = "statsherd.gatherer."
	// outputPrefix + NAME + ".up" etc. are each output's plugin state.
	outputPrefix = "statsherd.output."
)

// selfSample is the gatherer's own node: hosts connected, the round's
// duration and answers, counters of rounds, poll failures, refused peers,
// connections, output errors and coalesced rounds, and each output's
// plugin state and the stats it reports of its own.
func (g *Gatherer) selfSample(hosts, answers int, took time.Duration) sdk.NodeSample {
	st := sdk.NewStats()
	st.Stats[statPrefix+"hosts_connected"] = sdk.Int(int64(hosts))
	st.Stats[statPrefix+"round_answers"] = sdk.Int(int64(answers))
	st.Stats[statPrefix+"round_seconds"] = sdk.Float(took.Seconds())
	if rs := g.rounds.status(); rs.WrittenSeq > 0 {
		st.Stats[statPrefix+"round_written_seconds"] = sdk.Float(rs.TotalSeconds)
	}
	st.Stats[statPrefix+"uptime"] = sdk.Float(time.Since(g.start).Seconds())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.Stats[statPrefix+"heap_bytes"] = sdk.Int(int64(ms.HeapAlloc))
	st.Stats[statPrefix+"goroutines"] = sdk.Int(int64(runtime.NumGoroutine()))
	st.Counters[statPrefix+"rounds"] = g.stats.rounds.Load()
	st.Counters[statPrefix+"answers"] = g.stats.answers.Load()
	st.Counters[statPrefix+"poll_failures"] = g.stats.pollFailures.Load()
	st.Counters[statPrefix+"refused_peers"] = g.stats.refused.Load()
	st.Counters[statPrefix+"connects"] = g.hosts.Connects()
	refused := g.refusals.Counts()
	for _, k := range refusal.Kinds {
		st.Counters[statPrefix+"refused."+k] = refused[k]
	}
	enrolled, pending, revoked := g.nodes.Counts()
	st.Stats[statPrefix+"nodes_enrolled"] = sdk.Int(int64(enrolled))
	st.Stats[statPrefix+"nodes_pending"] = sdk.Int(int64(pending))
	st.Stats[statPrefix+"nodes_revoked"] = sdk.Int(int64(revoked))
	st.Stats[statPrefix+"handshakes_in_progress"] = sdk.Int(int64(g.hs.InProgress()))
	var outErrs, coalesced int64
	for _, f := range g.outputs {
		fs := f.Status()
		outErrs += fs.Errors
		coalesced += fs.Coalesced
		out := f.Output()
		out.State().AddTo(st, outputPrefix+out.Name())
		st.Counters[outputPrefix+out.Name()+".coalesced"] = fs.Coalesced
		own := f.OwnStats()
		for k, v := range own.Counters {
			st.Counters[outputPrefix+out.Name()+"."+k] = v
		}
		for k, v := range own.Stats {
			st.Stats[outputPrefix+out.Name()+"."+k] = v
		}
	}
	st.Counters[statPrefix+"output_errors"] = outErrs
	st.Counters[statPrefix+"output_coalesced"] = coalesced
	now := time.Now()
	return sdk.NodeSample{ID: g.id.ID, Nickname: g.cfg.Nickname, Timestamp: now, Stats: st}
}
