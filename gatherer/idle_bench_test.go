package gatherer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/sdk"
)

// BenchmarkIdleConnections measures what an idle host connection costs
// the gatherer, between rounds: N hosts of 100 stats each, run by a child
// process (this test binary, as TestIdleHostsChild) so that only the
// gatherer's side is counted, connect and answer one round; then the
// gatherer's heap and goroutine stacks, after a garbage collection, are
// compared with before they connected. Reported per connection:
// bytes/conn (heap in use plus stacks) and goroutines/conn. With
// STATSHERD_IDLE_HEAP=FILE the heap profile is written there;
// STATSHERD_IDLE_N sets the hosts (default 1,000; mind the open file
// limit).
func BenchmarkIdleConnections(b *testing.B) {
	n := 1000
	if s := os.Getenv("STATSHERD_IDLE_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("STATSHERD_IDLE_N=%q: want a number of hosts", s)
		}
		n = v
	}
	b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
		if os.Getenv("STATSHERD_IDLE_HEAP") != "" {
			runtime.MemProfileRate = 512 // the connections' every allocation, nearly
		}
		cfg := testConfig(b)
		cfg.PollInterval, cfg.PollTimeout = time.Hour, 30*time.Second
		cfg.StatusListen = ""
		cfg.Listen.MaxConnections = n + 100
		cfg.Limits.MaxHandshakes = n + 100
		cfg.Limits.MaxHandshakesPerAddress = n + 100
		cfg.Listen.HandshakeTimeout = time.Minute
		out := newOutput("o")
		g, err := Open(cfg, []Output{out}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan struct{})
		go func() { g.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		heap0, stack0, gr0 := settledMemory()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleHostsChild$")
		cmd.Env = append(os.Environ(), "STATSHERD_IDLE_FURL="+g.Furl().String(), "STATSHERD_IDLE_HOSTS="+strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { stdin.Close(); cmd.Wait() }()
		for deadline := time.Now().Add(3 * time.Minute); len(g.hosts.Connected()) < n; {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d hosts connected", len(g.hosts.Connected()), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// One round, so that each connection has carried a poll and
		// an answer: the state between rounds.
		g.round(ctx)
		r := <-out.got
		if len(r.Nodes) != n+1 {
			b.Fatalf("round of %d nodes, want %d", len(r.Nodes), n+1)
		}
		r = sdk.Round{}
		out.mu.Lock()
		out.rounds = nil // the round is the outputs', not the connections'
		out.mu.Unlock()
		for b.Loop() {
		}
		heap1, stack1, gr1 := settledMemory()
		if f := os.Getenv("STATSHERD_IDLE_HEAP"); f != "" {
			w, err := os.Create(f)
			if err != nil {
				b.Fatal(err)
			}
			pprof.WriteHeapProfile(w)
			w.Close()
		}
		b.ReportMetric(float64(int64(heap1+stack1)-int64(heap0+stack0))/float64(n), "bytes/conn")
		b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(n), "heap-bytes/conn")
		b.ReportMetric(float64(int64(stack1)-int64(stack0))/float64(n), "stack-bytes/conn")
		b.ReportMetric(float64(gr1-gr0)/float64(n), "goroutines/conn")
	})
}

// settledMemory is the heap in use, the goroutine stacks and the
// goroutines, after garbage collections.
func settledMemory() (heap, stack uint64, goroutines int) {
	var m runtime.MemStats
	for range 8 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse, runtime.NumGoroutine()
}

// TestIdleHostsChild is BenchmarkIdleConnections's host side: it runs
// STATSHERD_IDLE_HOSTS hosts against STATSHERD_IDLE_FURL until stdin
// closes. Without them it does nothing.
func TestIdleHostsChild(t *testing.T) {
	fs, ns := os.Getenv("STATSHERD_IDLE_FURL"), os.Getenv("STATSHERD_IDLE_HOSTS")
	if fs == "" {
		t.Skip("the host side of BenchmarkIdleConnections")
	}
	f, err := furl.Parse(fs)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(ns)
	if err != nil {
		t.Fatal(err)
	}
	st := sdk.NewStats()
	for i := range 50 {
		st.Counters[fmt.Sprintf("loadgen.counter_%03d", 2*i)] = int64(i)
		st.Stats[fmt.Sprintf("loadgen.stat_%03d", 2*i+1)] = sdk.Float(float64(i) / 7)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := range n {
		id, err := identity.New()
		if err != nil {
			t.Fatal(err)
		}
		l, err := link.New(link.Config{Furl: f, Identity: id, Nickname: fmt.Sprintf("idle-%05d", i),
			Poll: func(context.Context) sdk.Stats { return st }, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
			HandshakeTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		go l.Run(ctx)
	}
	io.Copy(io.Discard, bufio.NewReader(os.Stdin))
}
