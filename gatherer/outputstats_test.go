package gatherer

import (
	"sync/atomic"
	"testing"

	"github.com/statsherd/statsherd/sdk"
)

// reportingOutput is a fake output that reports stats of its own, as an
// output plugin that is an sdk.StatsReporter does through
// supervisor.Plugin.OutputStats.
type reportingOutput struct {
	*fakeOutput
	asked atomic.Int64
}

func (o *reportingOutput) OutputStats() sdk.Stats {
	n := o.asked.Add(1)
	st := sdk.NewStats()
	st.Counters["sent_samples"] = 10 * n
	st.Stats["queue_samples"] = sdk.Int(7)
	return st
}

// TestOutputOwnStats: an output's own stats, asked after each write, are
// among the gatherer's own stats and on the status page.
func TestOutputOwnStats(t *testing.T) {
	t.Parallel()
	out := &reportingOutput{fakeOutput: newOutput("rw")}
	g := startGatherer(t, testConfig(t), out)
	var self sdk.NodeSample
	waitFor(t, "the output's stats in the gatherer's own node", func() bool {
		r := <-out.got
		for _, n := range r.Nodes {
			if n.ID == g.ID() {
				self = n
			}
		}
		return self.Stats.Counters["statsherd.output.rw.sent_samples"] > 0
	})
	if self.Stats.Stats["statsherd.output.rw.queue_samples"] != sdk.Int(7) {
		t.Errorf("own stats %v", self.Stats)
	}
	for _, s := range g.Status().Outputs {
		if s.Name == "rw" && (s.Stats["queue_samples"] != 7 || s.Stats["sent_samples"] < 10) {
			t.Errorf("status page: %+v", s)
		}
	}
}
