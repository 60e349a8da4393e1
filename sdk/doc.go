// Package sdk is everything a statsherd plugin author imports.
//
// A plugin is an executable that calls Serve. It serves one or more named
// producers (which report counters and stats when the host polls them) and
// outputs (which receive every poll round of the gatherer). The daemon runs
// each plugin in its own process through hashicorp/go-plugin over gRPC, with
// a versioned handshake and automatic mutual TLS.
//
// Values: a counter is a monotonically increasing int64 (work done since the
// producer started); a stat is an instantaneous Value, which is an integer,
// a float, or null (unknown). Names are dot-separated, made of
// [A-Za-z0-9_.-]: "load_monitor.avg_load".
//
// Node software that only reports numbers imports sdk/report (and
// sdk/stat) instead, which link no gRPC. statsherd's own daemons also use
// sdk/daemon, which a plugin never needs.
package sdk
