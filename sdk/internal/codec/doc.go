// Package codec is the sdk's encoding and decoding of the plugin
// protocol's rounds and stats, below the sdk's types: the gRPC codecs
// that keep a round's bytes as gRPC received them (ServerCodec,
// ReceivedWrite) and send an encoded round without copying it
// (RoundCodec), the walk over a WriteRequest in gRPC's buffers (Raw), the
// decoder that interns names across rounds (Decoder, StatsDecoder, and
// Canonical's check), and the encoder of nodes (Encoder). Package sdk
// makes Rounds of them for outputs; package sdk/daemon hands the daemons
// what they use. Plugin authors never see it.
package codec
