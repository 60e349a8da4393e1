package prometheus

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// fleetRound is a round of n nodes with k stats each, half counters and
// half float stats, named as the load tool names them.
func fleetRound(now time.Time, n, k int) sdk.Round {
	r := sdk.Round{Time: now, Nodes: make([]sdk.NodeSample, n)}
	for i := range n {
		sum := sha256.Sum256([]byte(fmt.Sprint(i)))
		st := sdk.Stats{Counters: make(map[string]int64, k/2+1), Stats: make(map[string]sdk.Value, k/2+1)}
		for j := range k {
			if j%2 == 0 {
				st.Counters[fmt.Sprintf("loadgen.counter_%03d", j)] = int64(i * (j + 1))
			} else {
				st.Stats[fmt.Sprintf("loadgen.stat_%03d", j)] = sdk.Float(float64(i) / float64(j+1))
			}
		}
		r.Nodes[i] = sdk.NodeSample{
			ID:       strings.ToLower(base32.StdEncoding.EncodeToString(sum[:20])),
			Nickname: fmt.Sprintf("loadgen-%05d", i), Timestamp: now, Stats: st,
		}
	}
	return r
}

// scrape fetches /metrics as Prometheus does (asking for gzip) and
// returns the number of bytes on the wire.
func scrape(tb testing.TB, u string) int {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("scrape: status %d, error %v", resp.StatusCode, err)
	}
	return int(n)
}

// BenchmarkRoundAndScrape is what one round costs the output at a fleet's
// size: a Write of every node's sample, then one scrape of /metrics with
// gzip, as Prometheus asks. It reports the bytes on the wire and the heap
// the output holds afterwards.
func BenchmarkRoundAndScrape(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			now := time.Now()
			o, u := start(b, now)
			r := fleetRound(now, n, 100)
			var wire int
			b.ReportAllocs()
			for b.Loop() {
				if err := o.Write(context.Background(), r); err != nil {
					b.Fatal(err)
				}
				wire = scrape(b, u)
			}
			b.StopTimer()
			r = sdk.Round{}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(wire)/(1<<20), "MiB-on-wire")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MiB-heap-held")
		})
	}
}
