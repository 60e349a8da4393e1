package statsd

import (
	"github.com/hashicorp/go-hclog"

	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// BenchmarkParseLine is the parser alone.
func BenchmarkParseLine(b *testing.B) {
	line := []byte("storage_server.allocate:1|c|@0.5")
	b.ReportAllocs()
	for b.Loop() {
		if _, why := parseLine(line); why != dropNone {
			b.Fatal(why)
		}
	}
}

// BenchmarkHandlePacket is the parser and the store, 20 lines a packet.
func BenchmarkHandlePacket(b *testing.B) {
	s := &Server{store: NewStore(1000, time.Hour), log: hclog.NewNullLogger()}
	var pkt []byte
	for i := range 20 {
		pkt = append(pkt, fmt.Sprintf("node.counter%d:1|c\n", i%5)...)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.handle(pkt)
	}
	b.ReportMetric(float64(20*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkHandleMixed is the parser and the store on a mix of counter,
// timer and gauge lines, one per packet.
func BenchmarkHandleMixed(b *testing.B) {
	s := &Server{store: NewStore(1000, time.Hour), log: hclog.NewNullLogger()}
	var pkts [][]byte
	for i := range 10 {
		pkts = append(pkts, fmt.Appendf(nil, "bench.requests.%d:1|c", i),
			fmt.Appendf(nil, "bench.latency.%d:%d.5|ms", i, 10+i), fmt.Appendf(nil, "bench.queue.%d:%d|g", i, 100+i))
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
}

// startStatsd runs a statsd listener on a kernel-chosen loopback port.
func startStatsd(b *testing.B) *Server {
	b.Helper()
	s, err := Listen(b.Context(), "127.0.0.1:0", NewStore(1000, time.Hour), hclog.NewNullLogger())
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve()
	b.Cleanup(func() { s.Close() })
	return s
}

// received is how many lines the listener has seen.
func (s *Server) received() int64 {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.lines
}

// waitQuiet waits until the listener has seen want lines or stopped
// receiving.
func (s *Server) waitQuiet(want int64) int64 {
	last, still := int64(-1), 0
	for {
		n := s.received()
		if n >= want {
			return n
		}
		if n == last {
			still++
			if still > 20 {
				return n
			}
		} else {
			still = 0
		}
		last = n
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkStatsdIngest sends statsd lines over loopback UDP as fast as one
// sender can and reports the lines/s received and the fraction lost.
// single: one line per packet, as many statsd clients send; client: through
// sdk/report, which batches lines into packets.
func BenchmarkStatsdIngest(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		s := startStatsd(b)
		conn, err := net.Dial("udp", s.Addr())
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		line := []byte("node.requests:1|c")
		start := time.Now()
		for b.Loop() {
			conn.Write(line)
		}
		got := s.waitQuiet(int64(b.N))
		el := time.Since(start)
		b.ReportMetric(float64(got)/el.Seconds(), "lines/s")
		b.ReportMetric(100*float64(int64(b.N)-got)/float64(b.N), "%lost")
	})
	b.Run("single-4senders", func(b *testing.B) {
		s := startStatsd(b)
		line := []byte("node.requests:1|c")
		start := time.Now()
		b.SetParallelism(2) // 2 x GOMAXPROCS senders
		b.RunParallel(func(pb *testing.PB) {
			conn, err := net.Dial("udp", s.Addr())
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			for pb.Next() {
				conn.Write(line)
			}
		})
		got := s.waitQuiet(int64(b.N))
		el := time.Since(start)
		b.ReportMetric(float64(got)/el.Seconds(), "lines/s")
		b.ReportMetric(100*float64(int64(b.N)-got)/float64(b.N), "%lost")
	})
	b.Run("client", func(b *testing.B) {
		s := startStatsd(b)
		c, err := report.Dial(s.Addr())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for b.Loop() {
			c.Count("node.requests", 1)
		}
		c.Close()
		got := s.waitQuiet(int64(b.N))
		el := time.Since(start)
		b.ReportMetric(float64(got)/el.Seconds(), "lines/s")
		b.ReportMetric(100*float64(int64(b.N)-got)/float64(b.N), "%lost")
	})
}

// BenchmarkStatsdLossless sends one-line packets at a fixed total rate,
// from two senders, for a second, and reports the rate reached and the
// fraction lost: the highest rate with 0 %lost is the rate at which nothing
// is lost. Each op is one second of traffic.
func BenchmarkStatsdLossless(b *testing.B) {
	const senders = 2
	for _, rate := range []int{100_000, 200_000, 300_000, 400_000, 500_000} {
		b.Run("rate="+strconv.Itoa(rate), func(b *testing.B) {
			s := startStatsd(b)
			line := []byte("node.requests:1|c")
			var sent int64
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				counts := make([]int64, senders)
				for i := range senders {
					wg.Go(func() {
						conn, err := net.Dial("udp", s.Addr())
						if err != nil {
							b.Error(err)
							return
						}
						defer conn.Close()
						counts[i] = sendAt(conn, line, rate/senders, time.Second)
					})
				}
				wg.Wait()
				for _, n := range counts {
					sent += n
				}
			}
			el := time.Since(start)
			got := s.waitQuiet(sent)
			b.ReportMetric(float64(sent)/el.Seconds(), "sent/s")
			b.ReportMetric(100*float64(sent-got)/float64(sent), "%lost")
		})
	}
}

// sendAt sends line rate times a second for d, in bursts every millisecond,
// and returns how many it sent (fewer if the sender cannot keep up).
func sendAt(conn net.Conn, line []byte, rate int, d time.Duration) int64 {
	start := time.Now()
	var sent int64
	for {
		el := time.Since(start)
		if el >= d {
			return sent
		}
		due := int64(float64(rate) * el.Seconds())
		for ; sent < due; sent++ {
			conn.Write(line)
		}
		time.Sleep(time.Millisecond / 2)
	}
}
