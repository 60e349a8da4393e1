package fanout

import (
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

func TestCoalesce(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(100, 0)
	older := sdk.Round{Time: t0, Nodes: []sdk.NodeSample{{ID: "a", Timestamp: t0}, {ID: "b", Timestamp: t0}}}
	newer := sdk.Round{Time: t0.Add(time.Minute), Nodes: []sdk.NodeSample{{ID: "b", Timestamp: t0.Add(time.Minute)}, {ID: "c"}}}
	got := coalesce(older, newer)
	if !got.Time.Equal(newer.Time) || len(got.Nodes) != 3 {
		t.Fatalf("coalesce = %+v", got)
	}
	for _, n := range got.Nodes {
		if n.ID == "b" && !n.Timestamp.Equal(t0.Add(time.Minute)) {
			t.Errorf("node b kept its older sample")
		}
	}
}
