// Package admission is the gatherer's budget of connections that have not
// authenticated: how many handshakes at once, from one source, and the
// penalties of sources whose handshakes fail.
package admission

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
)

// Handshakes is the budget of connections that have not authenticated:
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
type Handshakes struct {
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

func NewHandshakes(max, perAddr int) *Handshakes {
	return &Handshakes{max: max, perAddr: perAddr, byAddr: map[string]int{}, pen: map[string]*penalty{},
		refused: map[string]int{}, good: map[string]time.Time{}, rand: rand.Float64, now: time.Now}
}

// Acquire takes a slot for src, or says why not. A source where an
// enrolled node was last seen (known) may use a reserve of a quarter more
// slots when the budget is full, so that a returning host is not locked
// out by strangers filling the budget from many addresses.
func (h *Handshakes) Acquire(src string, known func(string) bool) (ok bool, kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byAddr[src] >= h.perAddr {
		return false, refusal.PerAddress
	}
	isKnown := func() bool { return known != nil && known(src) }
	if p := h.pen[src]; p != nil && !isKnown() {
		// Held off while its penalty lasts; and while it is remembered
		// (penaltyForget), it may only use the first half of the budget:
		// the other half stays for sources that have not failed.
		now := h.now()
		if now.Before(p.until) || now.Sub(p.last) <= penaltyForget && h.n >= h.max/2 {
			return false, refusal.Penalty
		}
	}
	if h.n >= h.max && (h.n >= h.max+max(h.max/4, 1) || !isKnown()) {
		h.refusedLocked(src, isKnown)
		return false, refusal.Handshakes
	}
	if start := h.max / 2; h.n >= start && h.n < h.max && h.max > 1 {
		p := earlyRefusal + (1-earlyRefusal)*float64(h.n-start)/float64(h.max-start)
		if h.rand() < p && !isKnown() {
			h.refusedLocked(src, isKnown)
			return false, refusal.Handshakes
		}
	}
	h.n++
	h.byAddr[src]++
	return true, ""
}

// refusedLocked counts a refusal of src at the budget, and penalizes a
// source refused too often (h.mu held).
func (h *Handshakes) refusedLocked(src string, known func() bool) {
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

// Penalize holds src off after a failed handshake of kind, while the
// budget is at least half taken (a known source is never penalized).
func (h *Handshakes) Penalize(src, kind string, known func(string) bool) {
	switch kind {
	case refusal.Stalled, refusal.TLS, refusal.BadHello, refusal.Secret:
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
func (h *Handshakes) strikeLocked(src string, now time.Time) {
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

// Welcomed records that a handshake from src succeeded.
func (h *Handshakes) Welcomed(src string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.good[src]; !ok && len(h.good) >= maxPenalties {
		clear(h.good)
	}
	h.good[src] = h.now()
}

// Release gives back src's slot, taken by Acquire.
func (h *Handshakes) Release(src string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n--
	if h.byAddr[src]--; h.byAddr[src] <= 0 {
		delete(h.byAddr, src)
	}
}

// InProgress is the handshakes under way.
func (h *Handshakes) InProgress() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}
