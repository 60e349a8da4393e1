package host_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/host"
	"github.com/statsherd/statsherd/internal/builtin"
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
			h, diags := host.New(b.Context(), cfg, host.Options{Logger: hclog.NewNullLogger(), Builtins: builtin.Plugins()})
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

// BenchmarkPollBuiltins measures one poll of a host with the five built-in
// producers of an idle host: served by one shared process, and each by a
// process of its own (every block pins the binary's sha256, as before the
// built-ins shared a process).
func BenchmarkPollBuiltins(b *testing.B) {
	bin, err := os.ReadFile(bins.statsherd)
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	for _, mode := range []string{"shared", "separate"} {
		b.Run(mode, func(b *testing.B) {
			src := "reporting {\n  statsd = \"\"\n  socket = \"\"\n}\nstatus { listen = \"\" }\n" + builtinsHCL
			if mode == "separate" {
				pin := "\n  sha256 = \"" + hex.EncodeToString(sum[:]) + "\"\n"
				src = strings.ReplaceAll(src, "{}", "{"+pin+"}")
				src = strings.ReplaceAll(src, `{ path = "/" }`, "{"+pin+"  path = \"/\"\n}")
			}
			path := filepath.Join(b.TempDir(), "host.hcl")
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				b.Fatal(err)
			}
			cfg, diags := config.LoadHost(config.NewParser(), path)
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			h, diags := host.New(b.Context(), cfg, host.Options{Logger: hclog.NewNullLogger(), Self: bins.statsherd, Builtins: builtin.Plugins()})
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			defer h.Close(context.WithoutCancel(b.Context()))
			if st := h.Poll(b.Context()); !allBuiltinsServe(0)(st) {
				b.Fatalf("first poll: %v", st)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.Poll(b.Context())
			}
			b.StopTimer()
			if st := h.Poll(b.Context()); !allBuiltinsServe(0)(st) {
				b.Fatalf("last poll: %v", st)
			}
		})
	}
}
