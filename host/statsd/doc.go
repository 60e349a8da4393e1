// Package statsd is the host's statsd-compatible listener (Tahoe's
// stats_provider.count, as node software sends it today): a loopback UDP
// socket (Listen, Server) and the store of the names it counts (Store),
// which the host adds to every answer to the gatherer. Lines are counters
// (c), gauges (g), timers and histograms (ms, h, d) and sets (s), with
// DogStatsD tags as labels; what cannot be taken is counted by reason,
// never silently lost. The store is bounded (max names, expiry of idle
// names).
package statsd
