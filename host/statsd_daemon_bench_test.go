package host_test

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// daemonTicks is the user+system CPU time of pid, in clock ticks (1/100 s).
func daemonTicks(b *testing.B, pid int) int64 {
	buf, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	s := string(buf)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// BenchmarkStatsdDaemon sends a paced mix of counter, timer and gauge
// lines (one per packet, as most clients send them) from two senders to a
// real host process for 2 s per op, and reports the rate sent, the share
// lost (lines the host did not count, kernel drops included) and the host's
// CPU, as % of one core and per 100k lines/s. Run it with
// `go test -run '^$' -bench StatsdDaemon ./host`.
func BenchmarkStatsdDaemon(b *testing.B) {
	const senders = 2
	var lines [][]byte
	for i := range 10 {
		lines = append(lines,
			fmt.Appendf(nil, "bench.requests.%d:1|c", i),
			fmt.Appendf(nil, "bench.latency.%d:%d.5|ms", i, 10+i),
			fmt.Appendf(nil, "bench.queue.%d:%d|g", i, 100+i))
	}
	for _, rate := range []int{100_000, 200_000, 300_000, 400_000} {
		b.Run("rate="+strconv.Itoa(rate), func(b *testing.B) {
			d := startDaemon(b, `
nickname = "bench"
reporting {
  statsd = "127.0.0.1:0"
  socket = ""
}
status { listen = "127.0.0.1:0" }
`)
			pid := d.cmd.Process.Pid
			linesSeen := func() int64 {
				st, _ := d.poll(5 * time.Second)
				return st.Counters["statsherd.statsd.lines"]
			}
			var sent int64
			var busy time.Duration
			var ticks int64
			before := linesSeen()
			for b.Loop() {
				t0, start := daemonTicks(b, pid), time.Now()
				var wg sync.WaitGroup
				counts := make([]int64, senders)
				for i := range senders {
					wg.Go(func() {
						conn, err := net.Dial("udp", d.statsd)
						if err != nil {
							b.Error(err)
							return
						}
						defer conn.Close()
						counts[i] = sendMixAt(conn, lines, rate/senders, 2*time.Second)
					})
				}
				wg.Wait()
				time.Sleep(200 * time.Millisecond) // let the host drain its queue
				busy += time.Since(start)
				ticks += daemonTicks(b, pid) - t0
				for _, n := range counts {
					sent += n
				}
			}
			got := linesSeen() - before
			st, _ := d.poll(5 * time.Second)
			sentRate := float64(sent) / (busy - 200*time.Millisecond*time.Duration(b.N)).Seconds()
			cpu := float64(ticks) / 100 / busy.Seconds() * 100
			b.ReportMetric(sentRate, "lines/s")
			b.ReportMetric(100*float64(sent-got)/float64(sent), "%lost")
			b.ReportMetric(float64(st.Counters["statsherd.statsd.dropped.kernel"]), "kernel-drops")
			b.ReportMetric(cpu, "%cpu")
			b.ReportMetric(cpu/(sentRate/100_000), "%cpu/100k-lines/s")
		})
	}
}

// sendMixAt sends the lines in turn, rate a second, for d, in bursts every
// half millisecond, and returns how many it sent.
func sendMixAt(conn net.Conn, lines [][]byte, rate int, d time.Duration) int64 {
	start := time.Now()
	var sent int64
	for {
		el := time.Since(start)
		if el >= d {
			return sent
		}
		for due := int64(float64(rate) * el.Seconds()); sent < due; sent++ {
			conn.Write(lines[sent%int64(len(lines))])
		}
		time.Sleep(time.Millisecond / 2)
	}
}
