package sdk

import (
	"context"
	"errors"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk/proto"
)

// ProducerPlugin is the go-plugin glue of a Producer. Daemons use it with a
// nil Impl to dispense a client; Serve uses it with the plugin's producer.
type ProducerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Producer
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *ProducerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Impl == nil {
		return errors.New("this plugin serves no producer")
	}
	proto.RegisterProducerServer(s, &producerServer{impl: p.Impl})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin: the value dispensed is a Producer.
func (p *ProducerPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &producerClient{c: proto.NewProducerClient(c)}, nil
}

type producerServer struct {
	proto.UnimplementedProducerServer
	impl Producer
}

func (s *producerServer) Describe(ctx context.Context, _ *proto.Empty) (*proto.Info, error) {
	in, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return infoToProto(in)
}

func (s *producerServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.Empty, error) {
	return &proto.Empty{}, s.impl.Configure(ctx, Config(req.GetConfigJson()))
}

func (s *producerServer) Collect(ctx context.Context, _ *proto.Empty) (*proto.CollectResponse, error) {
	st, err := s.impl.Collect(ctx)
	resp := &proto.CollectResponse{Stats: StatsToProto(st)}
	if err != nil {
		if st.Len() == 0 {
			return nil, err
		}
		resp.Errors = []string{err.Error()}
	}
	return resp, nil
}

func (s *producerServer) Close(ctx context.Context, _ *proto.Empty) (*proto.Empty, error) {
	return &proto.Empty{}, s.impl.Close(ctx)
}

type producerClient struct{ c proto.ProducerClient }

func (c *producerClient) Describe(ctx context.Context) (Info, error) {
	p, err := c.c.Describe(ctx, &proto.Empty{})
	if err != nil {
		return Info{}, rpcError(err)
	}
	return infoFromProto(p)
}

func (c *producerClient) Configure(ctx context.Context, cfg Config) error {
	_, err := c.c.Configure(ctx, &proto.ConfigureRequest{ConfigJson: cfg})
	return rpcError(err)
}

func (c *producerClient) Collect(ctx context.Context) (Stats, error) {
	resp, err := c.c.Collect(ctx, &proto.Empty{})
	if err != nil {
		return Stats{}, rpcError(err)
	}
	st, err := StatsFromProto(resp.GetStats())
	if errs := resp.GetErrors(); len(errs) > 0 {
		err = errors.Join(errors.New(strings.Join(errs, "; ")), err)
	}
	return st, err
}

func (c *producerClient) Close(ctx context.Context) error {
	_, err := c.c.Close(ctx, &proto.Empty{})
	return rpcError(err)
}

var (
	_ Producer          = (*producerClient)(nil)
	_ plugin.GRPCPlugin = (*ProducerPlugin)(nil)
)
