package codec

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec
	"google.golang.org/grpc/mem"

	"github.com/statsherd/statsherd/sdk/proto"
)

// ServerCodec is gRPC's proto codec, except for a Write's request received
// by the sdk's server (a ReceivedWrite): that one keeps gRPC's buffers
// undecoded, for the sdk's decoding. (A daemon's output client sends rounds
// with RoundCodec.) Other messages, and the bytes on the wire, are as
// with the proto codec.
type ServerCodec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (ServerCodec) Marshal(v any) (mem.BufferSlice, error) { return protoCodec.Marshal(v) }

func (ServerCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if w, ok := v.(*ReceivedWrite); ok {
		w.keep(data) // decoded where they are: segments.go
		return nil
	}
	return protoCodec.Unmarshal(data, v)
}

func (ServerCodec) Name() string { return protoCodec.Name() }

// RoundCodec sends one round's WriteRequest as its encoding, Data: the
// round's header and every node's bytes, written by gRPC's transport one
// after the other, never copied together. It is ServerCodec otherwise.
type RoundCodec struct {
	ServerCodec
	Data mem.BufferSlice
}

func (c RoundCodec) Marshal(v any) (mem.BufferSlice, error) {
	if _, ok := v.(*proto.WriteRequest); ok {
		return c.Data, nil
	}
	return c.ServerCodec.Marshal(v)
}

// ReceivedWrite is the request of Write as the sdk's server receives it
// (the sdk registers the Output service with a Write handler of its own).
// With ServerCodec it holds gRPC's buffers, undecoded (Kept); with any
// other codec it is decoded, as a proto message, into its WriteRequest.
// The bytes thus travel from the codec to the handler on the request
// itself: nothing is looked up by request pointer, nothing outlives the
// call.
type ReceivedWrite struct {
	*proto.WriteRequest
	Bufs mem.BufferSlice // a reference of its own: the handler frees it
	Kept bool
}

// keep keeps data, taking a reference of its own: gRPC frees its own
// once Unmarshal returns.
func (w *ReceivedWrite) keep(data mem.BufferSlice) {
	data.Ref()
	w.Bufs, w.Kept = data, true
}
