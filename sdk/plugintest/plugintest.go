// Package plugintest runs a statsherd plugin in process, over the real
// gRPC transport, so a plugin author can test the plugin exactly as the
// daemon will call it, without building a binary.
package plugintest

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// Producer serves impl over an in-process gRPC connection and returns the
// daemon's view of it. The connection is closed when the test ends.
func Producer(t testing.TB, impl sdk.Producer) sdk.Producer {
	t.Helper()
	return dispense(t, sdk.KindProducer, impl).(sdk.Producer)
}

// Output serves impl over gRPC on a unix socket, with the server and dial
// options of a plugin process and its daemon (so a round is decoded from
// the received bytes, node by node for an sdk.NodeWriter, as under the
// gatherer), and returns the daemon's view of it. The server stops when
// the test ends.
func Output(t testing.TB, impl sdk.Output) sdk.Output {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "output.sock"))
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	s := grpc.NewServer(sdk.GRPCServerOptions()...)
	if err := (&sdk.OutputPlugin{Impl: impl}).GRPCServer(nil, s); err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("unix://"+ln.Addr().String(),
		append(daemon.GRPCDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	o, err := (&sdk.OutputPlugin{}).GRPCClient(context.Background(), nil, conn)
	if err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	return o.(sdk.Output)
}

func dispense(t testing.TB, kind string, p sdk.Producer) any {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, plugin.PluginSet{kind: &sdk.ProducerPlugin{Impl: p}})
	t.Cleanup(func() {
		// Closing the client shuts the server down too (go-plugin's
		// controller); stopping it here as well would race with that.
		client.Close()
	})
	raw, err := client.Dispense(kind)
	if err != nil {
		t.Fatalf("plugintest: dispensing %s: %v", kind, err)
	}
	return raw
}

// RoundsOnly returns impl without its optional sdk.NodeWriter: served
// (by Output), it is handed every round as an sdk.Round, through Write.
// For a test that an output gives the same results either way.
func RoundsOnly(impl sdk.Output) sdk.Output {
	type plain struct{ sdk.Output }
	if r, ok := impl.(sdk.StatsReporter); ok {
		return struct {
			sdk.Output
			sdk.StatsReporter
		}{impl, r}
	}
	return plain{impl}
}
