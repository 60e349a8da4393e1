package producertest

import (
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/sdk"
)

// Producer serves impl over go-plugin's in-process gRPC transport and
// returns the daemon's view of it, as sdk/plugintest.Producer does.
//
// It exists because plugintest.Producer (like sdk.ServeOne) registers an
// output plugin with a nil Impl next to the producer, and go-plugin refuses
// to start a server when any plugin of the set fails to register ("error
// registering \"output\": this plugin serves no output"). Once sdk serves
// only the kind it was given, this becomes plugintest.Producer.
func Producer(t testing.TB, impl sdk.Producer) sdk.Producer {
	t.Helper()
	set := plugin.PluginSet{sdk.KindProducer: &sdk.ProducerPlugin{Impl: impl}}
	client, server := plugin.TestPluginGRPCConn(t, false, set)
	t.Cleanup(func() {
		client.Close()
		server.Stop()
	})
	raw, err := client.Dispense(sdk.KindProducer)
	if err != nil {
		t.Fatalf("producertest: dispensing producer: %v", err)
	}
	return raw.(sdk.Producer)
}
