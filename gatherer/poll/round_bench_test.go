package poll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// BenchmarkRoundHandling measures what a round costs once its answers
// have arrived, at 1,000 and 10,000 hosts of 100 stats each (half
// counters, half floats, named as statsherd-loadgen names them):
//
//   - decode: every host's answer, as its wire frame, made into its node's
//     sample, as the gatherer's host readers do (wire.ReadFrame,
//     wire.DecodeAnswer, quotas.sample: checked and kept encoded);
//   - output=NAME: the decoded round written to one built-in output through
//     the plugin protocol (gRPC over a unix socket, both ends in this
//     process, so allocs/op counts both; production adds TLS and a process);
//   - all: both, the outputs written concurrently as the gatherer does
//     (the round encoded once for all of them).
//
// Polling (TLS, a goroutine per host) is BenchmarkRound's. Here the
// decoding is sequential: per-op time is CPU time, not the wall time of a
// round, whose hosts are decoded by concurrent readers.
//
// hosts=N,labels=3 is the same fleet with 3 labels on every stat (10
// names × 10 label sets of 100 series per host, as a host's per-device
// stats would be).
func BenchmarkRoundHandling(b *testing.B) {
	for _, c := range []struct{ n, labels int }{{1000, 0}, {10000, 0}, {1000, 3}, {10000, 3}} {
		name := fmt.Sprintf("hosts=%d", c.n)
		if c.labels > 0 {
			name += fmt.Sprintf(",labels=%d", c.labels)
		}
		n := c.n
		b.Run(name, func(b *testing.B) {
			ans := benchAnswersLabels(b, n, 100, c.labels)
			outs := benchOutputs(b)
			b.Run("decode", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					ans.round(b)
				}
			})
			r := ans.round(b)
			for _, o := range outs {
				b.Run("output="+o.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := o.out.Write(b.Context(), r); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("all", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					r := daemon.SharedEncoding(ans.round(b)) // as the gatherer's round
					var wg sync.WaitGroup
					for _, o := range outs {
						wg.Go(func() {
							if err := o.out.Write(b.Context(), r); err != nil {
								b.Error(err)
							}
						})
					}
					wg.Wait()
				}
			})
		})
	}
}

// benchFleet is n hosts' answers as they arrive: wire frames.
type benchFleet struct {
	ids, nicknames []string
	frames         [][]byte
	q              *quotas // as the gatherer's, kept across rounds
}

func benchAnswers(b *testing.B, n, k int) benchFleet { return benchAnswersLabels(b, n, k, 0) }

// benchAnswersLabels is benchAnswers with labels labels on every stat
// (0 or 3): stat j is name j/10 with the labels cpu=j%10, device and mode.
func benchAnswersLabels(b *testing.B, n, k, labels int) benchFleet {
	f := benchFleet{ids: make([]string, n), nicknames: make([]string, n), frames: make([][]byte, n), q: &quotas{}}
	for i := range n {
		sum := sha256.Sum256(fmt.Append(nil, i))
		f.ids[i] = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20]))
		f.nicknames[i] = fmt.Sprintf("loadgen-%05d", i)
		st := sdk.Stats{Counters: map[string]int64{}, Stats: map[string]sdk.Value{}}
		for j := range k {
			counter, stat := fmt.Sprintf("loadgen.counter_%03d", j), fmt.Sprintf("loadgen.stat_%03d", j)
			if labels > 0 {
				ls := []sdk.Label{sdk.L("cpu", fmt.Sprint(j%10)), sdk.L("device", "sda"), sdk.L("mode", "user")}
				counter = sdk.MustSeries(fmt.Sprintf("loadgen.counter_%02d", j/10), ls...)
				stat = sdk.MustSeries(fmt.Sprintf("loadgen.stat_%02d", j/10), ls...)
			}
			if j%2 == 0 {
				st.Counters[counter] = int64(i * (j + 1))
			} else {
				st.Stats[stat] = sdk.Float(float64(i) / float64(j+1))
			}
		}
		fr, err := wire.AppendFrame(nil, wire.NewAnswer(&wire.Answer{Id: 1, Stats: daemon.StatsToProto(st)}))
		if err != nil {
			b.Fatal(err)
		}
		f.frames[i] = fr
	}
	return f
}

// round makes every answer into its node's sample, as the gatherer's
// host readers and round do.
func (f benchFleet) round(b *testing.B) sdk.Round {
	at := time.Now()
	nodes := make([]sdk.NodeSample, 0, len(f.frames)+1)
	var buf []byte
	for i, fr := range f.frames {
		p, err := wire.ReadFrame(bytes.NewReader(fr), 16<<20, buf)
		if err != nil {
			b.Fatal(err)
		}
		a, ok, err := wire.DecodeAnswer(p)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
		s, invalid, neg, err := f.q.sample(f.ids[i], f.nicknames[i], at, a.Stats)
		if err != nil || invalid != nil || neg != 0 {
			b.Fatal(err, invalid, neg)
		}
		buf = p
		nodes = append(nodes, s)
	}
	f.q.names.EndRound()
	return sdk.Round{Time: at, Nodes: nodes}
}

type benchOutput struct {
	name string
	out  sdk.Output
}

// benchOutputs configures every built-in output and connects to each
// through the plugin protocol's gRPC service.
func benchOutputs(b *testing.B) []benchOutput {
	dir := b.TempDir()
	// A receiver that takes every remote write request and keeps nothing.
	rw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rw.Close)
	// A carbon that reads every batch to its end and closes, keeping nothing.
	carbon, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { carbon.Close() })
	go func() {
		for {
			c, err := carbon.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	configs := map[string]string{
		"graphite":     fmt.Sprintf(`{"address": %q, "dir": %q}`, carbon.Addr().String(), filepath.Join(dir, "graphite")),
		"remote_write": fmt.Sprintf(`{"url": %q, "dir": %q}`, rw.URL+"/api/v1/write", filepath.Join(dir, "rw")),
		"influxdb":     fmt.Sprintf(`{"url": %q, "database": "statsherd", "dir": %q}`, rw.URL, filepath.Join(dir, "influxdb")),
		"munin":        fmt.Sprintf(`{"path": %q, "mode": "0644", "forget_after": 0}`, filepath.Join(dir, "stats.json")),
		"prometheus":   `{"listen": "127.0.0.1:0", "prefix": "statsherd", "stale_after": 300000000000}`,
		"stdout":       fmt.Sprintf(`{"path": %q}`, os.DevNull),
	}
	var outs []benchOutput
	all := builtin.Plugins().Outputs
	for _, name := range slices.Sorted(maps.Keys(all)) {
		newOutput := all[name]
		cfg, ok := configs[name]
		if !ok {
			b.Fatalf("no benchmark config for the built-in output %s: add one", name)
		}
		impl := newOutput(hclog.NewNullLogger())
		if err := impl.Configure(b.Context(), sdk.Config(cfg)); err != nil {
			b.Fatalf("configuring %s: %v", name, err)
		}
		outs = append(outs, benchOutput{name, grpcOutput(b, impl)})
		b.Cleanup(func() { impl.Close(context.Background()) })
	}
	return outs
}

// grpcOutput serves impl on a unix socket with the plugin's gRPC server
// options and returns the daemon's client of it.
func grpcOutput(b *testing.B, impl sdk.Output) sdk.Output {
	sock := filepath.Join(b.TempDir(), "o.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	s := grpc.NewServer(sdk.GRPCServerOptions()...)
	if err := (&sdk.OutputPlugin{Impl: impl}).GRPCServer(nil, s); err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	b.Cleanup(s.Stop)
	conn, err := grpc.NewClient("unix://"+sock,
		append(daemon.GRPCDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	c, err := (&sdk.OutputPlugin{}).GRPCClient(b.Context(), nil, conn)
	if err != nil {
		b.Fatal(err)
	}
	return c.(sdk.Output)
}
