// Package plugintest runs a statsherd plugin in process, over the real
// go-plugin gRPC transport, so a plugin author can test the plugin exactly
// as the daemon will call it, without building a binary.
package plugintest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/sdk"
)

// Producer serves impl over an in-process gRPC connection and returns the
// daemon's view of it. The connection is closed when the test ends.
func Producer(t testing.TB, impl sdk.Producer) sdk.Producer {
	t.Helper()
	return dispense(t, sdk.KindProducer, impl, nil).(sdk.Producer)
}

// Output serves impl over an in-process gRPC connection and returns the
// daemon's view of it. The connection is closed when the test ends.
func Output(t testing.TB, impl sdk.Output) sdk.Output {
	t.Helper()
	return dispense(t, sdk.KindOutput, nil, impl).(sdk.Output)
}

func dispense(t testing.TB, kind string, p sdk.Producer, o sdk.Output) any {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, sdk.PluginSets(p, o)[sdk.ProtocolVersion])
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
