package sdk

import (
	"context"

	"google.golang.org/grpc"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// A round's bytes travel from the codec to the Write handler on the
// request itself: the sdk's server registers the Output service with a
// Write handler of its own (outputServiceDesc), whose request is a
// codec.ReceivedWrite, so codec.ServerCodec.Unmarshal, which sees only
// the request, keeps gRPC's buffers in it. Nothing is looked up by
// request pointer and nothing outlives the call.

// outputServiceDesc is proto.Output_ServiceDesc with the handler of
// Write replaced by writeHandler.
var outputServiceDesc = func() grpc.ServiceDesc {
	d := proto.Output_ServiceDesc
	d.Methods = append([]grpc.MethodDesc(nil), d.Methods...)
	for i := range d.Methods {
		if d.Methods[i].MethodName == "Write" {
			d.Methods[i].Handler = writeHandler
		}
	}
	return d
}()

// writeHandler is the generated handler of Write, with a
// codec.ReceivedWrite for request.
func writeHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := &codec.ReceivedWrite{WriteRequest: new(proto.WriteRequest)}
	if err := dec(in); err != nil {
		return nil, err
	}
	s := srv.(*outputServer)
	if interceptor == nil {
		return s.writeReceived(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: proto.Output_Write_FullMethodName}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return s.writeReceived(ctx, req.(*codec.ReceivedWrite))
	})
}
