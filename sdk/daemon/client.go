package daemon

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// PluginSets returns the versioned plugin sets of a daemon's go-plugin
// client for a plugin process serving one plugin: it dispenses
// sdk.KindProducer (an sdk.Producer) and sdk.KindOutput (an sdk.Output),
// in every plugin protocol version this sdk speaks.
func PluginSets() map[int]plugin.PluginSet { return side.PluginSets() }

// SharedPluginSets returns the versioned plugin sets of a daemon's client
// for a shared process serving the plugins names of kind
// (sdk.ServeShared): SharedKey(kind, name) dispenses an instance of
// plugin name, a fresh one at each Dispense, named in the gRPC metadata
// of each of its calls.
func SharedPluginSets(kind string, names []string) map[int]plugin.PluginSet {
	return side.SharedPluginSets(kind, names)
}

// SharedKey is the go-plugin plugin-set key that dispenses an instance of
// the plugin name of kind from a shared process.
func SharedKey(kind, name string) string { return side.SharedKey(kind, name) }

// GRPCDialOptions are the options a daemon dials its plugins with.
func GRPCDialOptions() []grpc.DialOption { return side.GRPCDialOptions() }

// WithDryRun returns a context that makes a Configure call through it a
// dry run: the plugin's sdk.Checker instead of its Configure
// (sdk.ErrNoDryRun without one), for `statsherd validate`.
func WithDryRun(ctx context.Context) context.Context { return side.WithDryRun(ctx) }
