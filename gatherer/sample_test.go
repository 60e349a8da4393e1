package gatherer

import (
	"context"
	"testing"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// TestAnswersStayEncoded: the hosts' answers reach the outputs as they
// came, each node's bytes made once; the gatherer's own node, and a
// host's answer that had to be cleaned, are encoded from their maps; all
// decode to what the hosts sent, less what is dropped.
func TestAnswersStayEncoded(t *testing.T) {
	t.Parallel()
	out := newOutput("o")
	g := startGatherer(t, testConfig(t), out)
	_, plain, _ := startHost(t, g.Furl(), "plain", func(context.Context) sdk.Stats {
		st := sdk.NewStats()
		st.Counters["test.c"] = 3
		st.Stats["test.f"] = sdk.Float(2.5)
		return st
	})
	_, neg, _ := startHost(t, g.Furl(), "negative", func(context.Context) sdk.Stats {
		st := sdk.NewStats()
		st.Counters["test.c"] = 3
		st.Counters["test.neg"] = -3
		return st
	})
	ids := []string{plain.ID, neg.ID, g.ID()}
	decoded := roundWith(t, out, ids...)
	var raw sdk.Round
	waitFor(t, "the same round as written", func() bool {
		for {
			select {
			case r := <-out.raw:
				if r.Time.Equal(decoded.Time) {
					raw = r
					return true
				}
			default:
				return false
			}
		}
	})
	want := map[string]struct {
		encoded bool
		check   func(sdk.Stats) bool
	}{
		plain.ID: {true, func(s sdk.Stats) bool {
			return s.Counters["test.c"] == 3 && s.Stats["test.f"] == sdk.Float(2.5) && s.Len() == 2
		}},
		neg.ID: {false, func(s sdk.Stats) bool { _, ok := s.Counters["test.neg"]; return s.Counters["test.c"] == 3 && !ok }},
		g.ID(): {false, func(s sdk.Stats) bool { return s.Len() > 0 }},
	}
	for i, n := range raw.Nodes {
		w, ok := want[n.ID]
		if !ok {
			continue
		}
		if daemon.Encoded(n) != w.encoded {
			t.Errorf("node %s (%s): encoded %v, want %v", n.ID, n.Nickname, daemon.Encoded(n), w.encoded)
		}
		if d := decoded.Nodes[i]; d.ID != n.ID || !w.check(d.Stats) {
			t.Errorf("node %s (%s) decodes to %v", n.ID, n.Nickname, d.Stats)
		}
	}
}
