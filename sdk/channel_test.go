package sdk

import (
	"context"
	"net"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"strconv"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/statsherd/statsherd/sdk/internal/plugintls"
)

// liveHeap is the live heap after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// pluginTLS is the mutual TLS of a daemon and its plugin, as
// plugintls makes it for one start of a plugin (both sides in this
// process).
func pluginTLS(t *testing.T) (daemon, plugin credentials.TransportCredentials) {
	t.Helper()
	d, err := plugintls.ForDaemon()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(plugintls.EnvFD, strconv.Itoa(int(d.File.Fd())))
	for _, kv := range d.Env {
		if k, v, _ := strings.Cut(kv, "="); k == plugintls.EnvClientCert {
			t.Setenv(k, v)
		}
	}
	p, err := plugintls.ForPlugin() // reads and closes the pipe
	if err != nil {
		t.Fatal(err)
	}
	return credentials.NewTLS(d.Config), credentials.NewTLS(p)
}

// openChannels opens n connections to one server on loopback over the
// plugins' TLS, each dialed with dial and served with srv, and makes one
// call on each; it returns the live heap they hold, per connection (both
// ends), and a close.
func openChannels(t *testing.T, n int, srv []grpc.ServerOption, dial []grpc.DialOption) (perConn int64, closeAll func()) {
	t.Helper()
	daemonTLS, pluginCreds := pluginTLS(t)
	before := liveHeap()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(append(srv, grpc.Creds(pluginCreds))...)
	healthpb.RegisterHealthServer(s, health.NewServer())
	go s.Serve(l)
	var conns []*grpc.ClientConn
	closeAll = func() {
		for _, c := range conns {
			c.Close()
		}
		s.Stop()
	}
	for range n {
		c, err := grpc.NewClient(l.Addr().String(), append(dial, grpc.WithTransportCredentials(daemonTLS))...)
		if err != nil {
			closeAll()
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := healthpb.NewHealthClient(c).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			closeAll()
			t.Fatal(err)
		}
	}
	return (int64(liveHeap()) - int64(before)) / int64(n), closeAll
}

// TestProducerChannelHoldsLess: between polls, a producer's connection
// holds less heap at its two ends than gRPC's defaults do (a read buffer
// of 32 KiB at each end against 4 KiB): the host and its built-ins'
// process each hold one end of such a connection as long as they run.
func TestProducerChannelHoldsLess(t *testing.T) {
	const n = 8
	def, closeDef := openChannels(t, n, GRPCServerOptions(), grpcDialOptionsFor(KindOutput))
	closeDef()
	prod, closeProd := openChannels(t, n, grpcServerOptionsFor(KindProducer), grpcDialOptionsFor(KindProducer))
	defer closeProd()
	t.Logf("live heap per connection, both ends: gRPC's buffers %d bytes, a producer's %d", def, prod)
	// 28 KiB less read buffer at each end: 56 KiB; ask for most of it.
	if def-prod < 48<<10 {
		t.Errorf("a producer's connection holds %d bytes, gRPC's default %d: want at least 48 KiB less", prod, def)
	}
}
