package registry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/refusal"
)

// Enrolment: whether a node may connect (Admit, under the policy and the
// allowlist), and its enrolment at its first good answer (Seen).

// reloadAllowlist rereads the allowlist file if it changed (r.mu held).
// A file that cannot be read, is damaged or was deleted leaves the list
// read before in force (chosen, issue 25: a deleted or half-written file
// from a configuration tool should not take the fleet off the graphs; an
// empty file admits no one); with none read before, no one is admitted.
// allowErr says what is wrong, and Reload logs it.
func (r *Registry) reloadAllowlist() {
	st, err := os.Stat(r.allowPath)
	if err != nil {
		if r.allow == nil {
			r.allow = map[string]bool{}
		}
		r.allowStat = time.Time{}
		if errors.Is(err, os.ErrNotExist) {
			r.allowErr = fmt.Errorf("allowlist %s does not exist: write the admitted node ids there, one a line (statsherd host id prints a host's)", r.allowPath)
		} else {
			r.allowErr = fmt.Errorf("reading the allowlist: %w", err)
		}
		return
	}
	if st.ModTime().Equal(r.allowStat) && r.allow != nil {
		return
	}
	b, err := os.ReadFile(r.allowPath)
	if err != nil {
		r.allowErr = fmt.Errorf("reading the allowlist: %w", err)
		return
	}
	allow, err := parseAllowlist(b)
	if err != nil {
		r.allowErr = fmt.Errorf("allowlist %s: %w", r.allowPath, err)
		return
	}
	r.allow, r.allowStat, r.allowErr = allow, st.ModTime(), nil
}

// parseAllowlist reads node ids, one a line; blank lines and text after
// '#' are ignored.
func parseAllowlist(b []byte) (map[string]bool, error) {
	allow := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !ValidNodeID(s) {
			return nil, fmt.Errorf("line %d: %.40q is not a node id (32 lowercase base32 characters, as 'statsherd host id' prints)", line, s)
		}
		allow[s] = true
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return allow, nil
}

// Verdict is the registry's verdict on a host that finished its
// handshake.
type Verdict struct {
	OK     bool
	Fresh  bool   // a new node admitted, to be released (Release) when its connection ends
	Kind   string // the refusal kind when not OK
	Reason string // told to the host
}

// Admit decides whether node id may connect: secretOK says whether it
// presented the furl's current secret. An enrolled node is known by its
// key and needs no secret (the secret can be rotated under it); a new one
// needs the secret, and then the policy decides.
func (r *Registry) Admit(id, nick, addr string, secretOK bool, now time.Time) Verdict {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.nodes[id]
	if n != nil && n.State == StateRevoked {
		return Verdict{Kind: refusal.Revoked, Reason: "this node is revoked by the gatherer's operator"}
	}
	if r.policy == "allowlist" {
		r.reloadAllowlist()
		if !r.allow[id] {
			return Verdict{Kind: refusal.NotAllowed, Reason: "node " + id + " is not on the gatherer's allowlist"}
		}
	}
	if n != nil && n.State == StateEnrolled {
		r.touch(n, nick, addr, now)
		return Verdict{OK: true}
	}
	if !secretOK {
		return Verdict{Kind: refusal.Secret, Reason: "wrong secret: get the current stats_gatherer.furl from the gatherer's base directory"}
	}
	if n != nil && n.State == StatePending {
		r.touch(n, nick, addr, now)
		return Verdict{Kind: refusal.Pending, Reason: "waiting for approval: the gatherer's operator runs 'statsherd gatherer approve " + id + "'"}
	}
	known, pending, fromSrc := 0, 0, 0
	src := refusal.SourceOf(addr)
	for xid, x := range r.nodes {
		if x.State == StatePending && now.Sub(x.FirstSeen) > r.pendingExpiry {
			// Waited too long: forgotten; it asks again if it is still there.
			delete(r.nodes, xid)
			r.dirty, r.urgent = true, true
			continue
		}
		if x.State != StateRevoked {
			known++
		}
		if x.State == StatePending {
			pending++
			if addr != "" && refusal.SourceOf(x.LastAddress) == src {
				fromSrc++
			}
		}
	}
	// Admissions in flight count: keys connecting at once would
	// otherwise all pass before any of them is enrolled.
	if known+len(r.admitting) >= r.maxNodes {
		return Verdict{Kind: refusal.TooManyNodes, Reason: fmt.Sprintf("the gatherer knows %d nodes and admits %d more, its limit (max_nodes)", known, len(r.admitting))}
	}
	if r.held >= r.maxStats {
		return Verdict{Kind: refusal.TooManyNodes, Reason: fmt.Sprintf("the gatherer holds %d stats for its nodes, its limit (max_stats_total)", r.held)}
	}
	if r.policy == "open" && !r.bucket.take(now, newNodeCharge) {
		return Verdict{Kind: refusal.NewNodeRate, Reason: "too many new nodes at once (new_node_stats_rate): try again later"}
	}
	if r.policy != "approve" {
		// Enrolled at its first good answer (seen): a key that only
		// connects, or only misbehaves, never fills the node list; while
		// connected it holds a place (released by Release or Seen).
		r.admitting[id] = true
		return Verdict{OK: true, Fresh: true}
	}
	if pending >= maxPending {
		return Verdict{Kind: refusal.Pending, Reason: fmt.Sprintf("%d nodes already wait for approval; try again later", pending)}
	}
	if fromSrc >= r.pendingPerAddr {
		return Verdict{Kind: refusal.Pending, Reason: fmt.Sprintf("%d nodes from your address already wait for approval (max_pending_per_address); try again later", fromSrc)}
	}
	n = &Node{ID: id, Nickname: nick, LastAddress: addr, FirstSeen: now, LastSeen: now, Changed: now, State: StatePending}
	r.nodes[id] = n
	r.dirty, r.urgent = true, true
	return Verdict{Kind: refusal.Pending, Reason: "waiting for approval: the gatherer's operator runs 'statsherd gatherer approve " + id + "'"}
}

// touch records that n was heard from (r.mu held).
func (r *Registry) touch(n *Node, nick, addr string, now time.Time) {
	if nick != "" && nick != n.Nickname {
		n.Nickname, r.dirty = nick, true
	}
	if addr != "" && addr != n.LastAddress {
		n.LastAddress = addr
	}
	if addr != "" && n.State == StateEnrolled {
		if len(r.sources) >= 4*r.maxNodes {
			r.sources = map[string]bool{} // roaming nodes: start over
		}
		r.sources[refusal.SourceOf(addr)] = true
	}
	n.LastSeen = now
	if now.Sub(n.savedSeen) >= lastSeenResolution {
		r.dirty = true
	}
}

// Release gives back the place of a new node admitted by Admit (Fresh)
// whose connection ended, enrolled or not.
func (r *Registry) Release(id string) {
	r.mu.Lock()
	delete(r.admitting, id)
	r.mu.Unlock()
}

// Seen records a good answer from node id, admitted by Admit: a node new
// to the list is enrolled now.
func (r *Registry) Seen(id, nick, addr string, now time.Time, stats int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.nodes[id]
	delete(r.admitting, id)
	if n == nil {
		n = &Node{ID: id, Nickname: nick, FirstSeen: now, Changed: now, State: StateEnrolled}
		r.nodes[id] = n
		r.dirty, r.urgent = true, true
		if r.policy == "open" {
			// Its first answer: the rest of its cost, in stats.
			r.bucket.charge(now, float64(stats)-newNodeCharge)
		}
	}
	if n.State == StateEnrolled {
		r.touch(n, nick, addr, now)
		if stats != n.Stats {
			r.held += int64(stats - n.Stats)
			n.Stats = stats
		}
	}
}

// newNodeCharge is what admitting a new node takes from the bucket
// before its first answer says its size (a node of 100 stats).
const newNodeCharge = 100

// tokenBucket is a rate of rate per second, with at most burst kept. A
// charge may take it below zero (a debt paid back over time).
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newTokenBucket(rate, burst float64) tokenBucket {
	if rate <= 0 {
		rate = config.DefaultNewNodeStatsRate
	}
	if burst <= 0 {
		burst = config.DefaultNewNodeStatsBurst
	}
	return tokenBucket{rate: rate, burst: burst, tokens: burst}
}

func (b *tokenBucket) refill(now time.Time) {
	if !b.last.IsZero() && now.After(b.last) {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
}

// take takes n if the bucket is not empty (it may go below zero).
func (b *tokenBucket) take(now time.Time, n float64) bool {
	b.refill(now)
	if b.tokens <= 0 {
		return false
	}
	b.tokens -= n
	return true
}

// charge takes n (negative: gives back), whatever is left.
func (b *tokenBucket) charge(now time.Time, n float64) {
	b.refill(now)
	b.tokens = min(b.burst, b.tokens-n)
}

// RereadAllowlist reads the allowlist now, whether or not its time
// changed, and returns the admitted ids; nil, nil when the policy is not
// "allowlist".
func (r *Registry) RereadAllowlist() (map[string]bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.policy != "allowlist" {
		return nil, nil
	}
	r.allowStat = time.Time{}
	r.reloadAllowlist()
	if r.allowErr != nil {
		return nil, r.allowErr
	}
	return maps.Clone(r.allow), nil
}
