package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/statsherd/statsherd/gatherer"
)

// row is one measured round: the gatherer's figures for it, its process
// tree after it (and before the previous row, for CPU), and a scrape.
type row struct {
	round      gatherer.RoundStatus
	tree, prev tree
	scrape     *scrape
}

// scrape is one GET of a prometheus output's /metrics, with gzip as
// Prometheus asks.
type scrape struct {
	secs  float64
	bytes int64
	cpu   float64 // CPU seconds of the prometheus plugin during the scrape (-1 unknown)
	err   error
}

func scrapeOnce(ctx context.Context, url string, gathererPID int) *scrape {
	s := &scrape{cpu: -1}
	before, okBefore := readTree(gathererPID).pluginCPU("prometheus")
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		s.err = err
		return s
	}
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	// The transport leaves the body compressed when the request asks for
	// gzip itself, so bytes are bytes on the wire.
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		s.err = err
		return s
	}
	s.bytes, s.err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if s.err == nil && resp.StatusCode != http.StatusOK {
		s.err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	s.secs = time.Since(start).Seconds()
	if after, okAfter := readTree(gathererPID).pluginCPU("prometheus"); okBefore && okAfter {
		s.cpu = after - before
	}
	return s
}

type table struct {
	w      io.Writer
	scrape bool
}

func newTable(w io.Writer, scrape bool) *table { return &table{w: w, scrape: scrape} }

// The columns: the round's polling time, its writing time (polls done to
// every output written), both together; the gatherer's RSS and its peak
// RSS since the previous line (the round's peak), its output plugins' RSS
// summed, all of them together and the sum of all their peaks (an upper
// bound: the peaks need not coincide); the CPU seconds
// the gatherer and the plugins used since the previous line; a scrape.
func (t *table) header() {
	fmt.Fprintf(t.w, "%-6s %8s %8s %8s %8s %8s %12s %12s %12s %9s %13s %9s %9s",
		"round", "answers", "failures", "poll_s", "write_s", "total_s", "gatherer_MiB", "(peak_MiB)", "plugins_MiB", "all_MiB", "all_peak_MiB", "g_cpu_s", "p_cpu_s")
	if t.scrape {
		fmt.Fprintf(t.w, " %9s %10s %12s", "scrape_s", "scrape_MiB", "scrape_cpu_s")
	}
	fmt.Fprintln(t.w, "  plugins (RSS MiB)")
}

func (t *table) print(r row) {
	rr := r.round
	g := r.tree.gatherer
	prss, pcpu := r.tree.pluginTotals()
	_, ppcpu := r.prev.pluginTotals()
	gcpu := g.cpu - r.prev.gatherer.cpu
	if r.prev.gatherer.pid == 0 {
		gcpu = 0
	}
	fmt.Fprintf(t.w, "%-6d %8d %8d %8.3f %8.3f %8.3f %12.1f %12.1f %12.1f %9.1f %13.1f %9.2f %9.2f",
		rr.Seq, rr.Answers, rr.Failures, rr.PollSeconds, max(rr.TotalSeconds-rr.PollSeconds, 0), rr.TotalSeconds,
		mib(g.rss), mib(g.peak), mib(prss), mib(g.rss+prss), mib(r.tree.peakTotal()), gcpu, max(pcpu-ppcpu, 0))
	if t.scrape {
		if s := r.scrape; s == nil || s.err != nil {
			fmt.Fprintf(t.w, " %9s %10s %12s", "error", "-", "-")
		} else {
			fmt.Fprintf(t.w, " %9.3f %10.2f %12.2f", s.secs, mib(s.bytes), s.cpu)
		}
	}
	var names []string
	for _, p := range r.tree.plugins {
		names = append(names, fmt.Sprintf("%s=%.1f", p.name, mib(p.rss)))
	}
	fmt.Fprintf(t.w, "  %s\n", strings.Join(names, " "))
	if s := r.scrape; s != nil && s.err != nil {
		fmt.Fprintf(t.w, "(scrape failed: %v)\n", s.err)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
