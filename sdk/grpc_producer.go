package sdk

import (
	"context"
	"errors"
	"strings"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// ProducerPlugin is the go-plugin glue of a Producer. Daemons use it with a
// nil Impl to dispense a client; Serve uses it with the plugin's producer.
type ProducerPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Producer

	// mux, in a shared process, serves several plugins instead of Impl;
	// shared, on a daemon, names the plugin a dispensed client is for.
	mux    *mux[Producer]
	shared *sharedClient
	// flat says the peer speaks the plugin protocol before labels: a
	// plugin folds its series into flat names for it.
	flat bool
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *ProducerPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.shared != nil {
		return nil // a daemon's client for a shared process serves nothing
	}
	if p.Impl == nil && p.mux == nil {
		return errors.New("this plugin serves no producer")
	}
	proto.RegisterProducerServer(s, &producerServer{impl: p.Impl, mux: p.mux, flat: p.flat})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin: the value dispensed is a Producer.
func (p *ProducerPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &producerClient{c: proto.NewProducerClient(c), md: p.shared.instance()}, nil
}

type producerServer struct {
	proto.UnimplementedProducerServer
	impl Producer
	mux  *mux[Producer] // if set, serves instead of impl
	flat bool           // fold series into flat names (FoldStats)
}

// get is the producer a call is for.
func (s *producerServer) get(ctx context.Context) (Producer, error) {
	if s.mux != nil {
		return s.mux.get(ctx)
	}
	return s.impl, nil
}

func (s *producerServer) Describe(ctx context.Context, _ *proto.Empty) (*proto.Info, error) {
	impl, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	in, err := impl.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return infoToProto(in)
}

func (s *producerServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.Empty, error) {
	impl, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	return &proto.Empty{}, configure(ctx, impl, Config(req.GetConfigJson()))
}

func (s *producerServer) Collect(ctx context.Context, _ *proto.Empty) (*proto.CollectResponse, error) {
	impl, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	st, err := impl.Collect(ctx)
	if s.flat {
		st = FoldStats(st)
	}
	resp := &proto.CollectResponse{Stats: codec.StatsToProto(st)}
	if err != nil {
		if st.Len() == 0 {
			return nil, err
		}
		resp.Errors = []string{err.Error()}
	}
	return resp, nil
}

func (s *producerServer) Close(ctx context.Context, _ *proto.Empty) (*proto.Empty, error) {
	impl, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	err = impl.Close(ctx)
	if s.mux != nil {
		s.mux.forget(ctx)
	}
	return &proto.Empty{}, err
}

type producerClient struct {
	c  proto.ProducerClient
	md metadata.MD // names the instance in a shared process
}

func (c *producerClient) Describe(ctx context.Context) (Info, error) {
	ctx = withMD(ctx, c.md)
	p, err := c.c.Describe(ctx, &proto.Empty{})
	if err != nil {
		return Info{}, rpcError(err)
	}
	return infoFromProto(p)
}

func (c *producerClient) Configure(ctx context.Context, cfg Config) error {
	ctx = withMD(ctx, c.md)
	_, err := c.c.Configure(ctx, &proto.ConfigureRequest{ConfigJson: cfg})
	return rpcError(err)
}

func (c *producerClient) Collect(ctx context.Context) (Stats, error) {
	ctx = withMD(ctx, c.md)
	resp, err := c.c.Collect(ctx, &proto.Empty{})
	if err != nil {
		return Stats{}, rpcError(err)
	}
	st, err := codec.StatsFromProto(resp.GetStats())
	if errs := resp.GetErrors(); len(errs) > 0 {
		err = errors.Join(errors.New(strings.Join(errs, "; ")), err)
	}
	return st, err
}

func (c *producerClient) Close(ctx context.Context) error {
	ctx = withMD(ctx, c.md)
	_, err := c.c.Close(ctx, &proto.Empty{})
	return rpcError(err)
}

var (
	_ Producer          = (*producerClient)(nil)
	_ plugin.GRPCPlugin = (*ProducerPlugin)(nil)
)
