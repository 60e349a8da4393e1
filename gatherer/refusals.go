package gatherer

import (
	"fmt"
	"math/rand/v2"
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
	refTLS            = "tls_handshake"     // TLS failed: garbage, no certificate
	refStalled        = "handshake_timeout" // TLS or hello not done in time
	refBadHello       = "bad_hello"         // not a hello, protocol mismatch, oversize
	refSecret         = "wrong_secret"
	refTooMany        = "too_many_connections" // established hosts at max_connections
	refHandshakes     = "too_many_handshakes"  // max_handshakes in progress
	refPerAddress     = "too_many_handshakes_from_address"
	refPenalty        = "source_penalized" // a source whose handshakes keep failing, held off a while
	refRevoked        = "revoked"
	refPending        = "pending_approval"
	refNotAllowed     = "not_on_allowlist"
	refTooManyNodes   = "too_many_nodes"
	refNewNodeRate    = "new_node_rate" // a new node held back by new_node_stats_rate
	refDuplicate      = "duplicate_node_id"
	refTooManyStats   = "too_many_stats" // answer over max_stats_per_node
	refTooLarge       = "answer_too_large"
	refUnsolicited    = "unsolicited_answer"
	refNegative       = "negative_counters" // counters dropped, not a refused peer
	refInvalidNames   = "invalid_names"     // stats with invalid names dropped
	refPollFailed     = "poll_failed"       // a host dropped at a poll (counted in poll_failures)
	refNoAnswer       = "closed_before_answer"
	refOther          = "other"
	refusalLogPeriod0 = 10 * time.Second // the shortest log interval
)

// refusalKinds are the kinds, in the order they are reported.
var refusalKinds = []string{refTLS, refStalled, refBadHello, refSecret, refTooMany, refHandshakes, refPerAddress,
	refPenalty, refRevoked, refPending, refNotAllowed, refTooManyNodes, refNewNodeRate, refDuplicate, refTooManyStats, refTooLarge, refUnsolicited, refNegative, refInvalidNames, refPollFailed, refNoAnswer, refOther}

// refusals counts refusals by kind and logs them at most once per interval
// per kind: the first of an interval at once (with its address and reason),
// the rest as one summary line (count and the busiest sources) when the
// interval is over.
type refusals struct {
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

func newRefusals(log hclog.Logger, interval time.Duration) *refusals {
	return &refusals{log: log, interval: max(interval, refusalLogPeriod0), total: map[string]int64{}, kinds: map[string]*refusalKind{}}
}

// maxSources bounds the source addresses remembered per kind and interval.
const maxSources = 1000

// add counts one refusal of kind from addr (host:port or host) and logs
// it, or keeps it for the interval's summary. n is how many (counters
// dropped from one answer count as n).
func (r *refusals) add(kind, addr, nodeID, reason string, n int64) {
	now := time.Now()
	src := sourceOf(addr)
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
		case refNegative, refInvalidNames:
			r.log.Warn("dropped stats", append(args, "count", n)...)
		case refUnsolicited:
			r.log.Warn("closed connection: protocol violation", args...)
		case refPollFailed:
			r.log.Warn("poll failed, dropping host", args...)
		case refNoAnswer:
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

// flush logs the summary of every kind whose interval is over.
func (r *refusals) flush(force bool) {
	now := time.Now()
	type line struct {
		kind    string
		n       int64
		sources map[string]int64
		example string
	}
	var lines []line
	r.mu.Lock()
	for _, kind := range refusalKinds {
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
		case refNegative, refInvalidNames:
			msg = "dropped stats (summary)"
		case refPollFailed, refNoAnswer, refUnsolicited:
			msg = "dropped hosts (summary)"
		}
		r.log.Warn(msg, "kind", l.kind, "count", l.n, "sources", len(l.sources),
			"top_sources", topSources(l.sources, 5), "example", l.example, "interval", r.interval)
	}
}

// counts returns the refusals of each kind since start.
func (r *refusals) counts() map[string]int64 {
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

// sourceOf is the source a connection counts against: its IP address, or
// for IPv6 its /64.
func sourceOf(addr string) string {
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

// handshakes is the budget of connections that have not authenticated:
// at most max in all, at most perAddr from one source. As OpenSSH's
// MaxStartups (start:rate:full), once half the budget is taken a new
// connection is refused at random, from 30 % of them rising to all at
// max, so that a flood from many addresses seldom holds every slot; and
// as its PerSourcePenalties, a source whose handshakes fail (time out,
// are not TLS, present no hello or a wrong secret), or that is refused at
// the full budget many times a second (re-dialling at once), is refused at once for
// a while, doubling with each failure, so the slots it held go to others;
// and, while its failures are remembered, it may use only the first half
// of the budget, so a new source always finds room once the flood's
// sources have each failed once.
// Sources where an enrolled node was last seen are exempt from both.
type handshakes struct {
	max, perAddr int

	mu     sync.Mutex
	n      int
	byAddr map[string]int
	pen    map[string]*penalty
	// refused counts the refusals at the full budget of each source in
	// the current refusalWindow: one that re-dials at once, many times
	// a second, keeps failing too.
	refused      map[string]int
	refusedSince time.Time
	// good are the sources a handshake succeeded from lately (a NAT of
	// honest hosts): refusals do not count against them.
	good map[string]time.Time
	rand func() float64
	now  func() time.Time
}

// penalty is a source held off until until, after strikes failures.
type penalty struct {
	until, last time.Time
	strikes     int
}

// Penalties: the first failure holds a source off penaltyBase, each next
// one twice as long, up to penaltyMax; a source that fails no more for
// penaltyForget starts over. At most maxPenalties sources are kept.
const (
	penaltyBase   = 30 * time.Second
	penaltyMax    = 5 * time.Minute
	penaltyForget = 10 * time.Minute
	maxPenalties  = 1 << 16
	// A source refused at the full budget more than refusalStrike times
	// in refusalWindow is penalized (a host retries with a backoff of a
	// second or more: at most 10 times).
	refusalWindow = 10 * time.Second
	refusalStrike = 15
	// earlyRefusal is the share of new connections refused at random
	// once half the budget is taken; it rises to all at max.
	earlyRefusal = 0.3
)

func newHandshakes(max, perAddr int) *handshakes {
	return &handshakes{max: max, perAddr: perAddr, byAddr: map[string]int{}, pen: map[string]*penalty{},
		refused: map[string]int{}, good: map[string]time.Time{}, rand: rand.Float64, now: time.Now}
}

// acquire takes a slot for src, or says why not. A source where an
// enrolled node was last seen (known) may use a reserve of a quarter more
// slots when the budget is full, so that a returning host is not locked
// out by strangers filling the budget from many addresses.
func (h *handshakes) acquire(src string, known func(string) bool) (ok bool, kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byAddr[src] >= h.perAddr {
		return false, refPerAddress
	}
	isKnown := func() bool { return known != nil && known(src) }
	if p := h.pen[src]; p != nil && !isKnown() {
		// Held off while its penalty lasts; and while it is remembered
		// (penaltyForget), it may only use the first half of the budget:
		// the other half stays for sources that have not failed.
		now := h.now()
		if now.Before(p.until) || now.Sub(p.last) <= penaltyForget && h.n >= h.max/2 {
			return false, refPenalty
		}
	}
	if h.n >= h.max && (h.n >= h.max+max(h.max/4, 1) || !isKnown()) {
		h.refusedLocked(src, isKnown)
		return false, refHandshakes
	}
	if start := h.max / 2; h.n >= start && h.n < h.max && h.max > 1 {
		p := earlyRefusal + (1-earlyRefusal)*float64(h.n-start)/float64(h.max-start)
		if h.rand() < p && !isKnown() {
			h.refusedLocked(src, isKnown)
			return false, refHandshakes
		}
	}
	h.n++
	h.byAddr[src]++
	return true, ""
}

// refusedLocked counts a refusal of src at the budget, and penalizes a
// source refused too often (h.mu held).
func (h *handshakes) refusedLocked(src string, known func() bool) {
	now := h.now()
	if now.Sub(h.refusedSince) > refusalWindow {
		clear(h.refused)
		h.refusedSince = now
	}
	if _, ok := h.refused[src]; !ok && len(h.refused) >= maxPenalties {
		return
	}
	h.refused[src]++
	if h.refused[src] == refusalStrike+1 && !known() && now.Sub(h.good[src]) > penaltyForget {
		h.strikeLocked(src, now)
	}
}

// penalize holds src off after a failed handshake of kind, while the
// budget is at least half taken (a known source is never penalized).
func (h *handshakes) penalize(src, kind string, known func(string) bool) {
	switch kind {
	case refStalled, refTLS, refBadHello, refSecret:
	default:
		return
	}
	if known != nil && known(src) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n < h.max/2 {
		// The budget is not contested: a host with an old furl, or a
		// port scanner, costs nobody a slot, and is not held off.
		return
	}
	h.strikeLocked(src, h.now())
}

// strikeLocked records a failure of src and holds it off (h.mu held).
func (h *handshakes) strikeLocked(src string, now time.Time) {
	p := h.pen[src]
	if p == nil || now.Sub(p.last) > penaltyForget {
		if p == nil && len(h.pen) >= maxPenalties {
			for s, q := range h.pen {
				if now.After(q.until) {
					delete(h.pen, s)
				}
			}
			if len(h.pen) >= maxPenalties {
				return // full of sources held off now: the budget still bounds them
			}
		}
		p = &penalty{}
		h.pen[src] = p
	}
	d := penaltyBase << min(p.strikes, 20)
	p.strikes++
	p.last, p.until = now, now.Add(min(d, penaltyMax))
}

// welcomed records that a handshake from src succeeded.
func (h *handshakes) welcomed(src string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.good[src]; !ok && len(h.good) >= maxPenalties {
		clear(h.good)
	}
	h.good[src] = h.now()
}

func (h *handshakes) release(src string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n--
	if h.byAddr[src]--; h.byAddr[src] <= 0 {
		delete(h.byAddr, src)
	}
}

func (h *handshakes) inProgress() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}
