package host

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/host/statsd"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// TestShedInvalidUTF8 (issue 25, item 8): a stat name that is not UTF-8
// costs that stat alone; the answer still encodes.
func TestShedInvalidUTF8(t *testing.T) {
	h := &Host{log: hclog.NewNullLogger(), store: statsd.NewStore(0, 0)}
	own := sdk.NewStats()
	own.Stats["statsherd.uptime_seconds"] = sdk.Int(1)
	prog := sdk.NewStats()
	prog.Counters["app.good"] = 1
	prog.Counters["app.bad\xff"] = 2
	prog.Stats["app.\xfe"] = sdk.Int(3)
	parts := []part{{source: "host", stats: own}, {source: "registered producer app", stats: prog}}
	out, _ := merge(parts)
	h.shedTo(out, parts, link.Limits{MaxStats: 100, MaxMessageSize: 1 << 20})
	if _, ok := out.Counters["app.good"]; !ok || len(out.Counters) != 2 {
		t.Errorf("counters %v, want app.good and statsherd.shed", out.Counters)
	}
	if out.Counters["statsherd.shed"] != 2 {
		t.Errorf("shed %d, want the 2 names that are not UTF-8", out.Counters["statsherd.shed"])
	}
	if _, err := proto.Marshal(daemon.StatsToProto(out)); err != nil {
		t.Errorf("the answer does not encode: %v", err)
	}
}
