// Package report is the Go client of the statsherd host's reporting API,
// for node software: both halves of Tahoe-LAFS's stats provider interface.
//
//   - Count and Gauge (Tahoe's stats_provider.count) send statsd lines
//     ("name:delta|c", "name:value|g") to the host's loopback UDP listener.
//     Lines are batched into packets and flushed when a packet is full,
//     shortly after the first line of a batch (FlushInterval), and on Flush
//     or Close, so counting is cheap and bursts are not lost.
//   - RegisterProducer (Tahoe's register_producer) connects a long-running
//     program to the host over its local unix socket and answers the host's
//     polls with the stats of a Collector (an sdk.Producer is one),
//     reconnecting whenever the connection is lost.
//
// The package needs sdk/stat and the standard library alone, so node
// software that only counts links neither gRPC nor go-plugin.
//
// The register protocol is newline-delimited JSON over the unix socket (see
// Hello, Welcome, CollectRequest and CollectResponse), so software written
// in any language can speak it.
package report
