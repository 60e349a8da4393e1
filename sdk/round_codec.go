package sdk

import (
	"sync"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec
	"google.golang.org/grpc/mem"
	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/proto"
)

// rawCodec is gRPC's proto codec, except for WriteRequests: one that
// carries its encoding (rawWriteRequest) is sent as those bytes, without
// a copy, and one received keeps its bytes undecoded, for roundDecoder.
// Other messages, and the bytes on the wire, are as with the proto codec.
type rawCodec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if w, ok := v.(*proto.WriteRequest); ok {
		if b := rawOf(w); b != nil {
			return mem.BufferSlice{mem.SliceBuffer(b)}, nil
		}
	}
	return protoCodec.Marshal(v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if w, ok := v.(*proto.WriteRequest); ok {
		w.ProtoReflect().SetUnknown(data.Materialize())
		return nil
	}
	return protoCodec.Unmarshal(data, v)
}

func (rawCodec) Name() string { return protoCodec.Name() }

// roundEncoding is a round's WriteRequest, encoded once for every output.
type roundEncoding struct {
	once sync.Once
	b    []byte
	err  error
}

// WithSharedEncoding returns r marked so that the output clients it is
// written to encode it for the plugin protocol once, together, rather
// than once each: for a daemon handing the same round to several
// outputs. The round must not be changed after.
func (r Round) WithSharedEncoding() Round {
	r.enc = &roundEncoding{}
	return r
}

// encoded returns the WriteRequest of r to send, and whether it is the
// shared encoding (rawCodec then sends it without a copy).
func (r Round) encoded() (*proto.WriteRequest, bool, error) {
	if r.enc == nil {
		return roundToProto(r), false, nil
	}
	r.enc.once.Do(func() {
		r.enc.b, r.enc.err = gproto.Marshal(roundToProto(r))
	})
	if r.enc.err != nil {
		return nil, false, r.enc.err
	}
	if len(r.enc.b) == 0 {
		return &proto.WriteRequest{}, false, nil
	}
	return rawWriteRequest(r.enc.b), true, nil
}
