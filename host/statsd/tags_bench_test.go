package statsd

import (
	"github.com/hashicorp/go-hclog"

	"fmt"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// BenchmarkStatsdTagged is the parser and the store on DogStatsD lines
// with 3 tags (counters and gauges, one line a packet), which become
// labels; tags=0 is the same lines without tags, for comparison.
func BenchmarkStatsdTagged(b *testing.B) {
	for _, tags := range []bool{false, true} {
		b.Run(fmt.Sprintf("tags=%v", tags), func(b *testing.B) {
			s := &Server{store: NewStore(10000, time.Hour), log: hclog.NewNullLogger()}
			var pkts [][]byte
			for i := range 20 {
				t := ""
				if tags {
					t = fmt.Sprintf("|#status:%d,route:/api/v%d,env:prod", 200+i%5, i%4)
				}
				pkts = append(pkts, fmt.Appendf(nil, "web.requests:1|c%s", t), fmt.Appendf(nil, "web.inflight:%d|g%s", i, t))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.handle(pkts[i%len(pkts)])
				i++
				if i%100_000 == 0 { // a poll now and then, as in life
					s.store.addTo(sdk.NewStats(), true)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
