package sdk

import (
	"math"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk/internal/codec"
)

// ProtocolVersion is the version of the plugin protocol this SDK speaks.
// A daemon and a plugin agree on one version at start (go-plugin's
// VersionedPlugins: the highest both speak) or the plugin is refused with
// a clear error.
//
// Version 2 adds labels: a stat name in Stats may be a series key
// (Series). The messages are those of version 1; this SDK speaks both,
// and with a peer of version 1 folds every series into a flat name
// (FoldStats) before sending, so neither side needs to know.
const ProtocolVersion = 2

// protocolFlat is the version before labels.
const protocolFlat = 1

// Handshake is the go-plugin handshake of statsherd plugins. The magic
// cookie only keeps a plugin from being run by hand by mistake; it is not
// a security measure.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "STATSHERD_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "d1f3c5a0-statsherd-plugin",
}

// Environment variables the daemon sets for a plugin it starts.
const (
	// EnvSelect names the plugin to serve, as "producer/NAME" or "output/NAME".
	EnvSelect = "STATSHERD_PLUGIN_SELECT"
	// EnvLogLevel is the hclog level the plugin logs at.
	EnvLogLevel = "STATSHERD_PLUGIN_LOG_LEVEL"
)

// Plugin kinds, as used in go-plugin plugin sets and EnvSelect.
const (
	KindProducer = "producer"
	KindOutput   = "output"
)

// MaxMessageSize bounds one gRPC message between daemon and plugin: large
// enough for a round of 10,000 nodes of 100 stats each.
const MaxMessageSize = 256 << 20

// GRPCServerOptions are the options of a plugin's gRPC server.
func GRPCServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageSize),
		grpc.MaxSendMsgSize(MaxMessageSize),
		grpc.MaxConcurrentStreams(math.MaxUint16),
		// Rounds are decoded straight from their bytes, names interned.
		grpc.ForceServerCodecV2(codec.ServerCodec{}),
	}
}

// grpcDialOptions are the options a daemon dials its plugins with.
func grpcDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageSize),
		grpc.MaxCallSendMsgSize(MaxMessageSize),
	)}
}

// producerReadBuffer is the read buffer of each end of a producer's
// connection, against gRPC's 32 KiB. Over the plugins' TLS, gRPC reads
// through a bufio.Reader of that size that lives as long as the
// connection, in the host and in the plugin's process, while a producer's
// answer is a few KiB once a poll: a frame longer than the buffer is read
// past it, straight into the frame. An output's connection carries whole
// rounds, megabytes, and keeps gRPC's buffer. (gRPC already gives its
// write buffer back to a pool after each flush.)
const producerReadBuffer = 4 << 10

// grpcDialOptionsFor are the options a daemon dials a plugin of kind
// with: a producer's with the same read buffer as its server's.
func grpcDialOptionsFor(kind string) []grpc.DialOption {
	o := grpcDialOptions()
	if kind == KindProducer {
		o = append(o, grpc.WithReadBufferSize(producerReadBuffer))
	}
	return o
}

// grpcServerOptionsFor are the options a plugin process of kind serves
// with.
func grpcServerOptionsFor(kind string) []grpc.ServerOption {
	o := GRPCServerOptions()
	if kind == KindProducer {
		o = append(o, grpc.ReadBufferSize(producerReadBuffer))
	}
	return o
}

// pluginSets returns the versioned plugin sets for a daemon's client (both
// nil: every kind) or a plugin's server (only the kind it serves).
func pluginSets(p Producer, o Output) map[int]plugin.PluginSet {
	sets := map[int]plugin.PluginSet{}
	for _, v := range []int{protocolFlat, ProtocolVersion} {
		flat := v == protocolFlat
		set := plugin.PluginSet{}
		if p != nil || o == nil {
			set[KindProducer] = &ProducerPlugin{Impl: p, flat: flat}
		}
		if o != nil || p == nil {
			set[KindOutput] = &OutputPlugin{Impl: o, flat: flat}
		}
		sets[v] = set
	}
	return sets
}
