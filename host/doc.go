// Package host is the per-node host daemon (Tahoe-LAFS's StatsProvider).
//
// A Host runs the node's producer plugins under the supervisor, keeps the
// counters and gauges that node software reports over the statsd listener,
// asks node programs registered over its unix socket for their stats, and
// answers each poll with one sdk.Stats: every source collected
// concurrently, each under its own timeout, merged in a fixed order so that
// a name reported twice resolves the same way every time. The host's own
// health (plugin states, statsd traffic, conflicts) is part of the answer,
// under "statsherd.". The answer goes to the gatherer (over the connection
// the host dials) and to the local status page.
package host
