package daemon

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk/internal/plugintls"
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
func GRPCDialOptions() []grpc.DialOption { return side.GRPCDialOptions("") }

// GRPCDialOptionsFor are the options a daemon dials a plugin of kind
// (sdk.KindProducer, sdk.KindOutput) with: a producer's connection has
// smaller buffers than gRPC's, as its server has (a poll's answer is a
// few KiB; the buffers live as long as the connection, in both processes).
func GRPCDialOptionsFor(kind string) []grpc.DialOption { return side.GRPCDialOptions(kind) }

// WithDryRun returns a context that makes a Configure call through it a
// dry run: the plugin's sdk.Checker instead of its Configure
// (sdk.ErrNoDryRun without one), for `statsherd validate`.
func WithDryRun(ctx context.Context) context.Context { return side.WithDryRun(ctx) }

// PluginTLS is the mutual TLS of one start of a plugin process: the
// daemon's client configuration, and what the plugin's command takes
// (Env in its environment, File as the first of its ExtraFiles, closed by
// the daemon once the process has started).
type PluginTLS = plugintls.Daemon

// NewPluginTLS makes the key pairs of the daemon and of the plugin for one
// start of a plugin process, on P-256: go-plugin's AutoMTLS makes them on
// P-521, whose generator table costs each process about 0.5 MiB of heap.
// A plugin served by sdk.Serve or sdk.ServeShared takes its key from File;
// one built with an older SDK answers with AutoMTLS, which go-plugin's
// client accepts with the same configuration (see the package plugintls).
func NewPluginTLS() (*PluginTLS, error) { return plugintls.ForDaemon() }
