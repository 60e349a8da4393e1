// Command oldplugin speaks a protocol version no statsherd daemon knows.
package main

import (
	"context"

	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/sdk"
)

type producer struct{}

func (producer) Describe(context.Context) (sdk.Info, error)  { return sdk.Info{Name: "old"}, nil }
func (producer) Configure(context.Context, sdk.Config) error { return nil }
func (producer) Collect(context.Context) (sdk.Stats, error)  { return sdk.NewStats(), nil }
func (producer) Close(context.Context) error                 { return nil }

func main() {
	hs := sdk.Handshake
	hs.ProtocolVersion = 99
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		VersionedPlugins: map[int]plugin.PluginSet{
			99: {sdk.KindProducer: &sdk.ProducerPlugin{Impl: producer{}}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
	})
}
