package host_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/host"
)

// BenchmarkPoll measures the answer to one poll of a host with 10
// producer plugins (real processes, over go-plugin gRPC): each op is one
// Poll, all producers collected concurrently and merged.
func BenchmarkPoll(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("producers=%d", n), func(b *testing.B) {
			var src strings.Builder
			src.WriteString("reporting {\n  statsd = \"\"\n  socket = \"\"\n}\nstatus { listen = \"\" }\n")
			for i := range n {
				fmt.Fprintf(&src, "producer \"p%d\" { plugin = %q }\n", i, bins.testproducer)
			}
			dir := b.TempDir()
			path := filepath.Join(dir, "host.hcl")
			if err := os.WriteFile(path, []byte(src.String()), 0o600); err != nil {
				b.Fatal(err)
			}
			cfg, diags := config.LoadHost(config.NewParser(), path)
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			h, diags := host.New(b.Context(), cfg, host.Options{Logger: hclog.NewNullLogger()})
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			defer h.Close(context.WithoutCancel(b.Context()))
			if st := h.Poll(b.Context()); st.Counters["p0.collects"] != 1 {
				b.Fatalf("first poll: %v", st)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.Poll(b.Context())
			}
			st := h.Poll(b.Context())
			if got := st.Stats["statsherd.producers"]; got.String() != fmt.Sprint(n) {
				b.Fatalf("producers %v", got)
			}
		})
	}
}
