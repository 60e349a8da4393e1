package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// serveTargets is `statsherd-loadgen targets`: the same simulated hosts as
// the load tool's, as Prometheus scrape targets, so that a scraper
// (vmagent, Prometheus) can be measured against the gatherer doing the
// same work. It serves every host's K stats (half counters, half gauges,
// counters growing at each scrape) at /metrics/I on one address, writes a
// file_sd file naming them (one target each, told apart by a `host`
// label), accepts and discards Prometheus remote write at /api/v1/write,
// prints the address, and runs until interrupted or stdin closes.
//
//	statsherd-loadgen targets -n 1000 -k 100 -sd /tmp/targets.json
func serveTargets(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statsherd-loadgen targets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 100, "simulated hosts (targets)")
	k := fs.Int("k", 100, "stats per host (half counters, half gauges)")
	listen := fs.String("listen", "127.0.0.1:0", "address to serve the targets on")
	sd := fs.String("sd", "", "write a Prometheus file_sd JSON file naming every target here")
	untilEOF := fs.Bool("until-stdin-eof", false, "also stop when stdin closes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 || *k < 0 {
		fmt.Fprintln(stderr, "statsherd-loadgen targets: -n must be at least 1, -k at least 0")
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "statsherd-loadgen targets: %v\n", err)
		return 1
	}
	addr := ln.Addr().String()
	if *sd != "" {
		if err := writeFileSD(*sd, addr, *n); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "statsherd-loadgen targets: %v\n", err)
			return 1
		}
	}
	t := newTargets(*n, *k)
	srv := &http.Server{Handler: t, ReadHeaderTimeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *untilEOF {
		go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	}
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stdout, "%s\n", addr)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "statsherd-loadgen targets: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "targets: %d scrapes, %d remote write requests (%d bytes)\n",
		t.scrapes.Load(), t.writes.Load(), t.written.Load())
	return 0
}

// writeFileSD writes the file_sd JSON of n targets at addr.
func writeFileSD(path, addr string, n int) error {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := make([]group, n)
	for i := range groups {
		groups[i] = group{Targets: []string{addr}, Labels: map[string]string{
			"__metrics_path__": "/metrics/" + strconv.Itoa(i),
			"host":             fmt.Sprintf("loadgen-%05d", i),
		}}
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// targets serves the simulated hosts' pages.
type targets struct {
	n                        int
	names                    []string // metric names, counters at even indexes
	polls                    []atomic.Int64
	scrapes, writes, written atomic.Int64
}

func newTargets(n, k int) *targets {
	t := &targets{n: n, polls: make([]atomic.Int64, n)}
	for i := range k {
		kind := "counter"
		if i%2 == 1 {
			kind = "stat"
		}
		t.names = append(t.names, fmt.Sprintf("loadgen_%s_%03d", kind, i))
	}
	return t
}

func (t *targets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/write" {
		b, _ := io.Copy(io.Discard, r.Body)
		t.writes.Add(1)
		t.written.Add(b)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s, ok := strings.CutPrefix(r.URL.Path, "/metrics/")
	i, err := strconv.Atoi(s)
	if !ok || err != nil || i < 0 || i >= t.n {
		http.NotFound(w, r)
		return
	}
	t.scrapes.Add(1)
	n := t.polls[i].Add(1)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	b := make([]byte, 0, 64*len(t.names))
	for j, name := range t.names {
		if j%2 == 0 {
			b = append(b, "# TYPE "...)
			b = append(b, name...)
			b = append(b, " counter\n"...)
			b = append(b, name...)
			b = append(b, ' ')
			b = strconv.AppendInt(b, n*int64(j+1), 10)
		} else {
			b = append(b, "# TYPE "...)
			b = append(b, name...)
			b = append(b, " gauge\n"...)
			b = append(b, name...)
			b = append(b, ' ')
			b = strconv.AppendFloat(b, float64(n)/float64(j+1), 'g', -1, 64)
		}
		b = append(b, '\n')
	}
	w.Write(b)
}
