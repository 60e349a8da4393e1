package daemon

import (
	"context"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/internal/daemonhook"
)

// sdkSide is what package sdk hands this package (daemonhook): its
// unexported machinery, which plugin authors never see.
type sdkSide interface {
	EncodedSample(id, nickname string, ts time.Time, stats []byte) sdk.NodeSample
	Encoded(n sdk.NodeSample) bool
	Decoded(n sdk.NodeSample) (sdk.NodeSample, error)
	DecodedRound(r sdk.Round) (sdk.Round, error)
	SharedEncoding(r sdk.Round) sdk.Round

	PluginSets() map[int]plugin.PluginSet
	SharedPluginSets(kind string, names []string) map[int]plugin.PluginSet
	SharedKey(kind, name string) string
	GRPCDialOptions(kind string) []grpc.DialOption
	WithDryRun(ctx context.Context) context.Context
}

// side is set by package sdk's init, which runs before this package's
// (this package imports sdk).
var side = daemonhook.Sdk.(sdkSide)
