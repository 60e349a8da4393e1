package supervisor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// BenchmarkCollect measures one Collect round trip through go-plugin (gRPC
// over a local socket, AutoMTLS) to a real plugin process.
func BenchmarkCollect(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("stats=%d", n), func(b *testing.B) {
			p, err := New(Spec{Kind: "producer", Name: "testplugin", Path: bins.testplugin,
				Logger: hclog.NewNullLogger(), Timeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			defer p.Stop(ctx)
			if _, err := p.Start(ctx); err != nil {
				b.Fatal(err)
			}
			if err := p.Configure(ctx, []byte(fmt.Sprintf(`{"stats": %d}`, n))); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st, err := p.Collect(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Stats) != n+1 {
					b.Fatalf("got %d stats, want %d", len(st.Stats), n+1)
				}
			}
		})
	}
}
