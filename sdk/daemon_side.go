package sdk

import (
	"context"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk/internal/daemonhook"
)

// Package sdk/daemon, for statsherd's own daemons, reaches what it needs
// of this package's unexported machinery (a sample's encoding, a round's
// shared encoding, the plugin client's set-up) through daemonhook: what
// only the daemons use stays out of this package's API.
func init() { daemonhook.Sdk = daemonSide{} }

// daemonSide is what package sdk/daemon calls (its sdkSide interface).
type daemonSide struct{}

func (daemonSide) EncodedSample(id, nickname string, ts time.Time, stats []byte) NodeSample {
	return encodedSample(id, nickname, ts, stats)
}

func (daemonSide) Encoded(n NodeSample) bool { return n.carriesEncoding() }

func (daemonSide) Decoded(n NodeSample) (NodeSample, error) { return n.decoded() }

func (daemonSide) DecodedRound(r Round) (Round, error) { return r.decoded() }

func (daemonSide) SharedEncoding(r Round) Round { return r.withSharedEncoding() }

func (daemonSide) PluginSets() map[int]plugin.PluginSet { return pluginSets(nil, nil) }

func (daemonSide) SharedPluginSets(kind string, names []string) map[int]plugin.PluginSet {
	return sharedPluginSets(kind, names)
}

func (daemonSide) SharedKey(kind, name string) string { return sharedKey(kind, name) }

func (daemonSide) GRPCDialOptions(kind string) []grpc.DialOption { return grpcDialOptionsFor(kind) }

func (daemonSide) WithDryRun(ctx context.Context) context.Context { return withDryRun(ctx) }
