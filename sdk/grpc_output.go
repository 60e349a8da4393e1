package sdk

import (
	"context"
	"errors"
	"sync"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// OutputPlugin is the go-plugin glue of an Output. Daemons use it with a
// nil Impl to dispense a client; Serve uses it with the plugin's output.
type OutputPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Output

	// mux, in a shared process, serves several plugins instead of Impl;
	// shared, on a daemon, names the plugin a dispensed client is for.
	mux    *mux[Output]
	shared *sharedClient
	// flat says the peer speaks the plugin protocol before labels: a
	// daemon folds every round's series into flat names for it.
	flat bool
}

// GRPCServer implements plugin.GRPCPlugin.
func (p *OutputPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.shared != nil {
		return nil // a daemon's client for a shared process serves nothing
	}
	if p.Impl == nil && p.mux == nil {
		return errors.New("this plugin serves no output")
	}
	s.RegisterService(&outputServiceDesc, &outputServer{impl: p.Impl, mux: p.mux})
	return nil
}

// GRPCClient implements plugin.GRPCPlugin: the value dispensed is an Output.
func (p *OutputPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &outputClient{c: proto.NewOutputClient(c), md: p.shared.instance(), flat: p.flat}, nil
}

type outputServer struct {
	proto.UnimplementedOutputServer
	impl Output
	mux  *mux[Output] // if set, serves instead of impl

	// decs are the decoders not in use: one per Write at a time, so
	// that in a shared process the outputs' Writes, which may run at
	// once, do not wait for each other's (a NodeWriter decodes while it
	// writes).
	mu   sync.Mutex
	decs []*roundDecoder
}

// decoder returns a decoder for one Write; put it back after.
func (s *outputServer) decoder() *roundDecoder {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.decs); n > 0 {
		d := s.decs[n-1]
		s.decs = s.decs[:n-1]
		return d
	}
	return &roundDecoder{}
}

func (s *outputServer) put(d *roundDecoder) {
	s.mu.Lock()
	s.decs = append(s.decs, d)
	s.mu.Unlock()
}

// get is the output a call is for.
func (s *outputServer) get(ctx context.Context) (Output, error) {
	if s.mux != nil {
		return s.mux.get(ctx)
	}
	return s.impl, nil
}

func (s *outputServer) Describe(ctx context.Context, _ *proto.Empty) (*proto.Info, error) {
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

func (s *outputServer) Configure(ctx context.Context, req *proto.ConfigureRequest) (*proto.Empty, error) {
	impl, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	return &proto.Empty{}, configure(ctx, impl, Config(req.GetConfigJson()))
}

// Write is Write for a request decoded by other means than the sdk's
// server (outputServiceDesc): proto.OutputServer's method.
func (s *outputServer) Write(ctx context.Context, req *proto.WriteRequest) (*proto.Empty, error) {
	return s.writeReceived(ctx, &codec.ReceivedWrite{WriteRequest: req})
}

func (s *outputServer) writeReceived(ctx context.Context, req *codec.ReceivedWrite) (*proto.Empty, error) {
	// First, so that gRPC's buffers go back to its pool whatever happens.
	if req.Kept {
		defer req.Bufs.Free()
	}
	impl, err := s.get(ctx)
	if err != nil {
		return nil, err
	}
	var in codec.Raw
	if req.Kept {
		in = codec.Pieces(req.Bufs) // codec.ServerCodec kept gRPC's buffers
	} else if raw := rawOf(req.WriteRequest); raw != nil {
		in = codec.Raw{raw}
	}
	if err := s.write(ctx, impl, req.WriteRequest, in); err != nil {
		return nil, err
	}
	if rep, ok := impl.(StatsReporter); ok {
		// In the answer's trailer, so the protocol's messages stay as
		// they are and older daemons ignore it.
		if b, err := gproto.Marshal(codec.StatsToProto(rep.Stats())); err == nil {
			grpc.SetTrailer(ctx, metadata.Pairs(statsTrailer, string(b)))
		}
	}
	return &proto.Empty{}, nil
}

// write hands the round to impl: node by node to a NodeWriter, else as
// a Round. in is the request's encoding, if the codec kept it (else req
// was decoded generically).
func (s *outputServer) write(ctx context.Context, impl Output, req *proto.WriteRequest, in codec.Raw) error {
	if in == nil {
		r, err := roundFromProto(req)
		if err != nil {
			return err
		}
		if w, ok := impl.(NodeWriter); ok {
			return w.WriteNodes(ctx, NodesOf(r))
		}
		return impl.Write(ctx, r)
	}
	d := s.decoder()
	defer s.put(d)
	if w, ok := impl.(NodeWriter); ok {
		return d.writeNodes(ctx, in, w)
	}
	r, err := d.decode(in)
	if err != nil {
		return err
	}
	return impl.Write(ctx, r)
}

// statsTrailer is the gRPC trailer of a Write's answer carrying the
// output's own stats (a StatsReporter's), as a binary proto.Stats.
const statsTrailer = "statsherd-output-stats-bin"

func (s *outputServer) Close(ctx context.Context, _ *proto.Empty) (*proto.Empty, error) {
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

type outputClient struct {
	c    proto.OutputClient
	md   metadata.MD // names the instance in a shared process
	flat bool        // the plugin predates labels: fold them (Round.folded)

	mu    sync.Mutex
	stats Stats // as of the last Write
}

func (c *outputClient) Describe(ctx context.Context) (Info, error) {
	ctx = withMD(ctx, c.md)
	p, err := c.c.Describe(ctx, &proto.Empty{})
	if err != nil {
		return Info{}, rpcError(err)
	}
	return infoFromProto(p)
}

func (c *outputClient) Configure(ctx context.Context, cfg Config) error {
	ctx = withMD(ctx, c.md)
	_, err := c.c.Configure(ctx, &proto.ConfigureRequest{ConfigJson: cfg})
	return rpcError(err)
}

func (c *outputClient) Write(ctx context.Context, r Round) error {
	ctx = withMD(ctx, c.md)
	var md metadata.MD
	opts := []grpc.CallOption{grpc.Trailer(&md)}
	if c.flat {
		r = r.folded()
	}
	if data := r.encoded(); len(data) > 0 {
		// The request's bytes are data, sent as they are.
		opts = append(opts, grpc.ForceCodecV2(codec.RoundCodec{Data: data}))
	}
	_, err := c.c.Write(ctx, &proto.WriteRequest{}, opts...)
	if v := md.Get(statsTrailer); len(v) == 1 {
		var p proto.Stats
		if gproto.Unmarshal([]byte(v[0]), &p) == nil {
			st, _ := codec.StatsFromProto(&p) // bad names are dropped
			c.mu.Lock()
			c.stats = st
			c.mu.Unlock()
		}
	}
	return rpcError(err)
}

// Stats returns the stats the plugin sent with its last Write, if it is a
// StatsReporter; none otherwise.
func (c *outputClient) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *outputClient) Close(ctx context.Context) error {
	ctx = withMD(ctx, c.md)
	_, err := c.c.Close(ctx, &proto.Empty{})
	return rpcError(err)
}

var (
	_ Output            = (*outputClient)(nil)
	_ StatsReporter     = (*outputClient)(nil)
	_ plugin.GRPCPlugin = (*OutputPlugin)(nil)
)
