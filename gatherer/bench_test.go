package gatherer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/sdk"
)

// BenchmarkRound polls N in-process hosts of 100 stats each (TLS over
// loopback, one process: hosts and gatherer share the CPUs) and queues
// the round for one output.
func BenchmarkRound(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			cfg := testConfig(b)
			cfg.PollInterval, cfg.PollTimeout = time.Hour, 10*time.Second
			cfg.StatusListen = ""
			out := newOutput("o")
			out.asWritten = true
			g, err := Open(cfg, []Output{out}, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() { g.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			st := sdk.NewStats()
			for i := range 50 {
				st.Counters[fmt.Sprintf("bench.counter_%03d", i)] = int64(i)
				st.Stats[fmt.Sprintf("bench.stat_%03d", i)] = sdk.Float(float64(i) / 7)
			}
			for i := range n {
				benchHost(ctx, b, g, fmt.Sprintf("bench-%04d", i), st)
			}
			for deadline := time.Now().Add(time.Minute); len(g.hosts.Connected()) < n; {
				if time.Now().After(deadline) {
					b.Fatalf("%d of %d hosts connected", len(g.hosts.Connected()), n)
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.ResetTimer()
			for b.Loop() {
				g.round(ctx)
				<-out.got
			}
			b.ReportMetric(float64(n), "hosts")
		})
	}
}

func benchHost(ctx context.Context, b *testing.B, g *Gatherer, nick string, st sdk.Stats) {
	id, err := identity.New()
	if err != nil {
		b.Fatal(err)
	}
	l, err := link.New(link.Config{Furl: g.Furl(), Identity: id, Nickname: nick,
		Poll: func(context.Context) sdk.Stats { return st }, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	go l.Run(ctx)
}
