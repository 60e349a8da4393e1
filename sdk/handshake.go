package sdk

import (
	"math"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// ProtocolVersion is the version of the plugin protocol this SDK speaks.
// A daemon and a plugin agree on one version at start (go-plugin's
// VersionedPlugins) or the plugin is refused with a clear error.
const ProtocolVersion = 1

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
		grpc.ForceServerCodecV2(rawCodec{}),
	}
}

// GRPCDialOptions are the options a daemon dials its plugins with.
func GRPCDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageSize),
		grpc.MaxCallSendMsgSize(MaxMessageSize),
	)}
}

// PluginSets returns the versioned plugin sets for a daemon's client (both
// nil: every kind) or a plugin's server (only the kind it serves).
func PluginSets(p Producer, o Output) map[int]plugin.PluginSet {
	set := plugin.PluginSet{}
	if p != nil || o == nil {
		set[KindProducer] = &ProducerPlugin{Impl: p}
	}
	if o != nil || p == nil {
		set[KindOutput] = &OutputPlugin{Impl: o}
	}
	return map[int]plugin.PluginSet{ProtocolVersion: set}
}
