package remote_write_test

import (
	"context"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// TestRealReceiversLabels: a series' labels reach a real VictoriaMetrics
// and a real Prometheus as labels beside node, nickname and the static
// labels; one that clashes with those is renamed exported_NAME, an empty
// one is none.
func TestRealReceiversLabels(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"vm", "prometheus"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var rec *receiver
			if kind == "prometheus" {
				rec = startProm(t)
			} else {
				rec = startVM(t)
			}
			o := configure(t, t.TempDir(), map[string]any{"url": rec.WriteURL(), "labels": map[string]string{"gatherer": "eu-1"}})
			at := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
			st := sdk.NewStats()
			st.Counters[sdk.MustSeries("http.requests", sdk.L("status", "500"), sdk.L("route", "/login"))] = 3
			st.Counters[sdk.MustSeries("http.requests", sdk.L("status", "200"), sdk.L("node", "x"), sdk.L("gatherer", "y"), sdk.L("zone", ""))] = 4
			st.Stats[sdk.MustSeries("disk.free", sdk.L("device", "sda1"))] = sdk.Int(7)
			round := sdk.Round{Time: at, Nodes: []sdk.NodeSample{{ID: "aaaabbbbccccdddd", Nickname: "web", Timestamp: at, Stats: st}}}
			if err := o.Write(context.Background(), round); err != nil {
				t.Fatal(err)
			}
			ms := at.UnixMilli()
			node := func(l map[string]string) string {
				l["nickname"], l["node"], l["gatherer"] = "web", "aaaabbbbccccdddd", "eu-1"
				return labelKey(l)
			}
			want := series{
				node(map[string]string{"__name__": "statsherd_http_requests_total", "route": "/login", "status": "500"}):                              {{ms, 3}},
				node(map[string]string{"__name__": "statsherd_http_requests_total", "status": "200", "exported_node": "x", "exported_gatherer": "y"}): {{ms, 4}},
				node(map[string]string{"__name__": "statsherd_disk_free", "device": "sda1"}):                                                          {{ms, 7}},
			}
			waitSeries(t, rec, `{__name__=~"statsherd_(http_requests_total|disk_free)"}`, want)
		})
	}
}
