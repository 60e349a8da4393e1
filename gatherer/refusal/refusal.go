// Package refusal counts the gatherer's refusals by kind (a peer refused
// at its handshake, a host dropped, stats dropped from an answer) and logs
// them at most once per interval per kind; it also says which source a
// connection counts against (SourceOf).
package refusal

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Kinds of refusal: each is counted in the gatherer's own stats
// (statsherd.gatherer.refused.KIND) and logged at most once per log
// interval.
const (
	TLS               = "tls_handshake"     // TLS failed: garbage, no certificate
	Stalled           = "handshake_timeout" // TLS or hello not done in time
	BadHello          = "bad_hello"         // not a hello, protocol mismatch, oversize
	Secret            = "wrong_secret"
	TooMany           = "too_many_connections" // established hosts at max_connections
	Handshakes        = "too_many_handshakes"  // max_handshakes in progress
	PerAddress        = "too_many_handshakes_from_address"
	Penalty           = "source_penalized" // a source whose handshakes keep failing, held off a while
	Revoked           = "revoked"
	Pending           = "pending_approval"
	NotAllowed        = "not_on_allowlist"
	TooManyNodes      = "too_many_nodes"
	NewNodeRate       = "new_node_rate" // a new node held back by new_node_stats_rate
	Duplicate         = "duplicate_node_id"
	TooManyStats      = "too_many_stats" // answer over max_stats_per_node
	TooLarge          = "answer_too_large"
	Unsolicited       = "unsolicited_answer"
	Negative          = "negative_counters" // counters dropped, not a refused peer
	InvalidNames      = "invalid_names"     // stats with invalid names dropped
	PollFailed        = "poll_failed"       // a host dropped at a poll (counted in poll_failures)
	NoAnswer          = "closed_before_answer"
	Other             = "other"
	refusalLogPeriod0 = 10 * time.Second // the shortest log interval
)

// Kinds are the kinds, in the order they are reported.
var Kinds = []string{TLS, Stalled, BadHello, Secret, TooMany, Handshakes, PerAddress,
	Penalty, Revoked, Pending, NotAllowed, TooManyNodes, NewNodeRate, Duplicate, TooManyStats, TooLarge, Unsolicited, Negative, InvalidNames, PollFailed, NoAnswer, Other}

// Tally counts refusals by kind and logs them at most once per interval
// per kind: the first of an interval at once (with its address and reason),
// the rest as one summary line (count and the busiest sources) when the
// interval is over.
type Tally struct {
	log      hclog.Logger
	interval time.Duration

	mu     sync.Mutex
	total  map[string]int64
	kinds  map[string]*refusalKind
	logged int64 // lines written, for tests and the status page
}

type refusalKind struct {
	lastLogged time.Time
	pending    int64            // not yet logged
	sources    map[string]int64 // of the pending ones, by source address
	example    string           // the last pending reason
}

func NewTally(log hclog.Logger, interval time.Duration) *Tally {
	return &Tally{log: log, interval: max(interval, refusalLogPeriod0), total: map[string]int64{}, kinds: map[string]*refusalKind{}}
}

// maxSources bounds the source addresses remembered per kind and interval.
const maxSources = 1000

// Add counts one refusal of kind from addr (host:port or host) and logs
// it, or keeps it for the interval's summary. n is how many (counters
// dropped from one answer count as n).
func (r *Tally) Add(kind, addr, nodeID, reason string, n int64) {
	now := time.Now()
	src := SourceOf(addr)
	r.mu.Lock()
	k := r.kinds[kind]
	if k == nil {
		k = &refusalKind{sources: map[string]int64{}}
		r.kinds[kind] = k
	}
	if now.Sub(k.lastLogged) >= r.interval && k.pending == 0 {
		k.lastLogged = now
		r.logged++
		r.mu.Unlock()
		args := []any{"address", addr, "reason", reason, "kind", kind}
		if nodeID != "" {
			args = append(args, "node", nodeID)
		}
		switch kind {
		case Negative, InvalidNames:
			r.log.Warn("dropped stats", append(args, "count", n)...)
		case Unsolicited:
			r.log.Warn("closed connection: protocol violation", args...)
		case PollFailed:
			r.log.Warn("poll failed, dropping host", args...)
		case NoAnswer:
			r.log.Info("disconnect before the first answer", args...)
		default:
			r.log.Warn("refused peer", args...)
		}
		// Counted after it is logged: a refusal that is counted has been
		// said.
		r.mu.Lock()
		r.total[kind] += n
		r.mu.Unlock()
		return
	}
	r.total[kind] += n
	k.pending += n
	if _, ok := k.sources[src]; ok || len(k.sources) < maxSources {
		k.sources[src] += n
	}
	k.example = reason
	r.mu.Unlock()
}

// Flush logs the summary of every kind whose interval is over.
func (r *Tally) Flush(force bool) {
	now := time.Now()
	type line struct {
		kind    string
		n       int64
		sources map[string]int64
		example string
	}
	var lines []line
	r.mu.Lock()
	for _, kind := range Kinds {
		k := r.kinds[kind]
		if k == nil || k.pending == 0 || (!force && now.Sub(k.lastLogged) < r.interval) {
			continue
		}
		lines = append(lines, line{kind, k.pending, k.sources, k.example})
		k.pending, k.sources, k.lastLogged = 0, map[string]int64{}, now
		r.logged++
	}
	r.mu.Unlock()
	for _, l := range lines {
		msg := "refused peers (summary)"
		switch l.kind {
		case Negative, InvalidNames:
			msg = "dropped stats (summary)"
		case PollFailed, NoAnswer, Unsolicited:
			msg = "dropped hosts (summary)"
		}
		r.log.Warn(msg, "kind", l.kind, "count", l.n, "sources", len(l.sources),
			"top_sources", topSources(l.sources, 5), "example", l.example, "interval", r.interval)
	}
}

// Counts returns the refusals of each kind since start.
func (r *Tally) Counts() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int64, len(r.total))
	for k, v := range r.total {
		out[k] = v
	}
	return out
}

// topSources is "addr (count), ..." for the n busiest sources.
func topSources(m map[string]int64, n int) string {
	type sc struct {
		s string
		c int64
	}
	all := make([]sc, 0, len(m))
	for s, c := range m {
		all = append(all, sc{s, c})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].c != all[j].c {
			return all[i].c > all[j].c
		}
		return all[i].s < all[j].s
	})
	parts := make([]string, 0, n)
	for _, x := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s (%d)", x.s, x.c))
	}
	return strings.Join(parts, ", ")
}

// SourceOf is the source a connection counts against: its IP address, or
// for IPv6 its /64.
func SourceOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
	}
	return ip.String()
}
