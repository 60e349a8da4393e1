// Package daemon is the sdk's side for statsherd's own daemons, the host
// and the gatherer: how they start and speak to their plugins (PluginSets,
// SharedPluginSets, GRPCDialOptions, WithDryRun) and the codec that hands
// a node's stats to outputs still encoded, as a host's answer carried
// them, and encodes a round once for every output. It has no
// compatibility promise, and plugin authors never need it: a plugin is
// served by sdk.Serve and receives ordinary sdk.Rounds whatever the
// daemon did.
//
// A daemon that receives a node's stats already encoded (the gatherer:
// each host's answer carries a proto.Stats) hands them to outputs without
// decoding them into maps only to encode them again (a few KB and
// hundreds of allocations per node per round):
//
//	var names daemon.StatsDecoder // one for the daemon, kept across rounds
//	if neg, ok := names.Canonical(stats); ok && neg == 0 {
//		n = daemon.EncodedSample(id, nickname, at, stats) // the node's bytes, made once
//	} else {
//		st, err := names.Decode(stats) // invalid names dropped, err says which
//		// … drop what the daemon refuses, then
//		n = sdk.NodeSample{ID: id, Nickname: nickname, Timestamp: at, Stats: st}
//	}
//
// A round's output client sends the round as a list of buffers, the
// round's header, then each node: a sample that carries its encoding is
// its own bytes, not copied (gRPC's transport writes the buffers of one
// message in turn into its frames); nodes with maps are encoded, each run
// of them into one buffer. With SharedEncoding the list is made once for
// every output. The bytes are those of the same round encoded from maps,
// so outputs, third-party ones included, receive an ordinary sdk.Round.
package daemon
