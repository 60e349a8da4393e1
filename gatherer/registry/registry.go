// Package registry is the gatherer's node list (nodes.json): the nodes it
// knows, enrolled, pending or revoked, and the enrolment policy that
// decides whether a node that finished its handshake may report (Admit).
package registry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/refusal"
)

// NodesFile is the gatherer's list of known nodes (enrolled, pending and
// revoked), in its base directory.
const NodesFile = "nodes.json"

// States of a known node.
const (
	StateEnrolled = "enrolled"
	StatePending  = "pending"
	StateRevoked  = "revoked"
)

// maxPending bounds the nodes waiting for approval (they also count
// against max_nodes): a peer with the furl cannot fill the list.
const maxPending = 1000

// lastSeenResolution: a node's last_seen is saved when it advanced this
// much (forget_after is days), so answers do not rewrite the file.
const lastSeenResolution = time.Hour

// Node is a known node.
type Node struct {
	ID          string    `json:"id"`
	Nickname    string    `json:"nickname"`
	State       string    `json:"state"`
	LastAddress string    `json:"last_address,omitempty"`
	FirstSeen   time.Time `json:"first_seen,omitzero"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
	// Changed is when the state last changed (enrolled, approved, revoked).
	Changed time.Time `json:"changed,omitzero"`
	// Stats is the number of stats of its last answer: what the outputs
	// hold for it, counted against max_stats_total.
	Stats int `json:"stats,omitempty"`
	// Connected is set in listings while the node is connected.
	Connected bool `json:"connected,omitempty"`

	savedSeen time.Time
}

type nodesFileJSON struct {
	Version int     `json:"version"`
	Nodes   []*Node `json:"nodes"`
}

// writeNodesFile writes f as json.MarshalIndent(f, "", " ") and a newline
// would, a node at a time: at 20,000 nodes the whole list in memory, grown
// by doubling, took 30 MB a minute.
func writeNodesFile(w io.Writer, f nodesFileJSON) error {
	fmt.Fprintf(w, "{\n \"version\": %d,\n \"nodes\": ", f.Version)
	if len(f.Nodes) == 0 {
		_, err := io.WriteString(w, "[]\n}\n")
		return err
	}
	io.WriteString(w, "[\n")
	for i, n := range f.Nodes {
		b, err := json.MarshalIndent(n, "  ", " ")
		if err != nil {
			return fmt.Errorf("encoding the node list: %w", err)
		}
		io.WriteString(w, "  ")
		w.Write(b)
		if i < len(f.Nodes)-1 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n")
	}
	_, err := io.WriteString(w, " ]\n}\n")
	return err
}

// Registry is the set of known nodes and the enrolment policy.
type Registry struct {
	path        string
	policy      string
	allowPath   string
	maxNodes    int
	forgetAfter time.Duration
	// forgetNew is forget_new_after: for a node with the fleet less than
	// youngNode.
	forgetNew time.Duration
	// maxStats is max_stats_total; held is the stats of every node
	// (Node.Stats summed).
	maxStats, held int64
	// bucket holds new nodes back under open (new_node_stats_rate).
	bucket tokenBucket
	// pendingExpiry and pendingPerAddr bound the nodes waiting for
	// approval: by age and by source address.
	pendingExpiry  time.Duration
	pendingPerAddr int

	mu    sync.Mutex
	nodes map[string]*Node
	// dirty: the list changed since it was saved; urgent: a state
	// changed (saved within a second), not just a last_seen (saved at
	// most once a minute, so a big fleet does not rewrite it every second).
	dirty, urgent bool
	lastSave      time.Time
	allow         map[string]bool
	allowStat     time.Time
	allowErr      error
	// sources are where enrolled nodes were seen (refusal.SourceOf of their
	// address), for the handshake reserve.
	sources map[string]bool
	// admitting are the new nodes admitted under open and connected, not
	// yet enrolled (a node enrols at its first good answer): they count
	// against max_nodes, so that many keys connecting at once cannot
	// all enrol.
	admitting map[string]bool
}

// Load reads basedir/nodes.json (none: no nodes yet).
func Load(cfg *config.Gatherer) (*Registry, error) {
	r := &Registry{
		path: filepath.Join(cfg.Basedir, NodesFile), policy: cfg.Enrolment.Policy, allowPath: cfg.Enrolment.Allowlist,
		maxNodes: cfg.Limits.MaxNodes, forgetAfter: cfg.Limits.ForgetAfter, nodes: map[string]*Node{},
		forgetNew: cfg.Limits.ForgetNewAfter, maxStats: int64(cfg.Limits.MaxStatsTotal),
		pendingExpiry: cfg.Enrolment.PendingExpiry, pendingPerAddr: cfg.Enrolment.MaxPendingPerAddress,
		bucket:  newTokenBucket(float64(cfg.Limits.NewNodeStatsRate), float64(cfg.Limits.NewNodeStatsBurst)),
		sources: map[string]bool{}, admitting: map[string]bool{},
	}
	if r.policy == "" {
		r.policy = config.DefaultEnrolmentPolicy
	}
	if r.maxNodes <= 0 {
		r.maxNodes = config.DefaultMaxNodes
	}
	if r.maxStats <= 0 {
		r.maxStats = config.DefaultMaxStatsTotal
	}
	if r.pendingExpiry <= 0 {
		r.pendingExpiry = config.DefaultPendingExpiry
	}
	if r.pendingPerAddr <= 0 {
		r.pendingPerAddr = config.DefaultMaxPendingPerAddress
	}
	nodes, err := readNodesFile(r.path)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		n.savedSeen = n.LastSeen
		r.nodes[n.ID] = n
		r.held += int64(n.Stats)
		if n.State == StateEnrolled && n.LastAddress != "" {
			r.sources[refusal.SourceOf(n.LastAddress)] = true
		}
	}
	if r.policy == "allowlist" {
		r.mu.Lock()
		r.reloadAllowlist()
		err := r.allowErr
		r.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readNodesFile reads a nodes file; a missing file is no nodes.
func readNodesFile(path string) ([]*Node, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the node list: %w", err)
	}
	var f nodesFileJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("node list %s is damaged (%w); restore it from a backup, or delete it (every node enrols again, revocations are lost)", path, err)
	}
	out := f.Nodes[:0]
	for _, n := range f.Nodes {
		if n == nil || !ValidNodeID(n.ID) {
			continue
		}
		switch n.State {
		case StateEnrolled, StatePending, StateRevoked:
		default:
			return nil, fmt.Errorf("node list %s: node %s has state %q, not enrolled, pending or revoked; fix or delete that entry", path, n.ID, n.State)
		}
		n.Nickname = CleanNickname(n.Nickname)
		out = append(out, n)
	}
	return out, nil
}

// ValidNodeID reports whether s looks like a node id: 32 lowercase base32
// characters.
func ValidNodeID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Save writes the node list if it changed.
func (r *Registry) Save() error { return r.SaveIf(true) }

// SaveIf writes the node list if a state changed, or if anything changed
// and (lazy is true or) a minute has passed since the last save.
func (r *Registry) SaveIf(always bool) error {
	r.mu.Lock()
	if !r.dirty || !(always || r.urgent || time.Since(r.lastSave) >= time.Minute) {
		r.mu.Unlock()
		return nil
	}
	r.urgent, r.lastSave = false, time.Now()
	f := nodesFileJSON{Version: 1, Nodes: make([]*Node, 0, len(r.nodes))}
	for _, n := range r.nodes {
		c := *n
		c.Connected = false
		f.Nodes = append(f.Nodes, &c)
		n.savedSeen = n.LastSeen
	}
	r.dirty = false
	r.mu.Unlock()
	sort.Slice(f.Nodes, func(i, j int) bool { return f.Nodes[i].ID < f.Nodes[j].ID })
	err := basedir.WriteFileFunc(r.path, 0o600, func(w io.Writer) error { return writeNodesFile(w, f) })
	if err != nil {
		r.mu.Lock()
		r.dirty, r.urgent = true, true
		r.mu.Unlock()
		return err
	}
	return nil
}

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

// KnownSource reports whether an enrolled node was seen at src.
func (r *Registry) KnownSource(src string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sources[src]
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

// youngNode: a node with the fleet less than this is forgotten after
// forget_new_after, not forget_after.
const youngNode = time.Hour

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

// Forget drops the enrolled and pending nodes not heard from for
// forgetAfter (connected ones excepted) and returns them.
func (r *Registry) Forget(now time.Time, connected func(id string) bool) []*Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	var gone []*Node
	for id, n := range r.nodes {
		after := r.forgetAfter
		if after <= 0 {
			after = time.Duration(math.MaxInt64) // kept forever
		}
		if r.forgetAfter > 0 && r.forgetNew > 0 && n.LastSeen.Sub(n.FirstSeen) < youngNode {
			// Answered once (or briefly) and vanished: sooner.
			after = min(after, r.forgetNew)
		}
		expired := n.State == StatePending && now.Sub(n.FirstSeen) > r.pendingExpiry
		if n.State != StateRevoked && (now.Sub(n.LastSeen) > after || expired) && !connected(id) {
			delete(r.nodes, id)
			r.held -= int64(n.Stats)
			gone = append(gone, n)
			r.dirty, r.urgent = true, true
		}
	}
	return gone
}

// SetState changes node id to state (approve: pending→enrolled; revoke:
// any→revoked, also a node never seen). It returns the node.
func (r *Registry) SetState(id, state string, now time.Time) (Node, error) {
	if !ValidNodeID(id) {
		return Node{}, fmt.Errorf("%.40q is not a node id (32 lowercase base32 characters; 'statsherd gatherer nodes' lists them)", id)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.nodes[id]
	switch state {
	case StateEnrolled:
		if n == nil {
			return Node{}, fmt.Errorf("node %s is not known: it must connect with the furl first, then it waits as pending", id)
		}
		if n.State == StateRevoked {
			return Node{}, fmt.Errorf("node %s is revoked; revocation is final for a key (the node gets a new key: delete its node.key)", id)
		}
	case StateRevoked:
		if n == nil {
			n = &Node{ID: id, Nickname: "unnamed", FirstSeen: now}
			r.nodes[id] = n
		}
	}
	if n.State != state {
		n.State, n.Changed = state, now
		r.dirty, r.urgent = true, true
	}
	return *n, nil
}

// List returns every known node, sorted by state, nickname and id.
func (r *Registry) List() []Node {
	r.mu.Lock()
	out := make([]Node, 0, len(r.nodes))
	for _, n := range r.nodes {
		out = append(out, *n)
	}
	r.mu.Unlock()
	sortNodes(out)
	return out
}

func sortNodes(ns []Node) {
	rank := map[string]int{StatePending: 0, StateEnrolled: 1, StateRevoked: 2}
	sort.Slice(ns, func(i, j int) bool {
		a, b := ns[i], ns[j]
		if rank[a.State] != rank[b.State] {
			return rank[a.State] < rank[b.State]
		}
		if a.Nickname != b.Nickname {
			return a.Nickname < b.Nickname
		}
		return a.ID < b.ID
	})
}

// Counts returns how many nodes are in each state.
func (r *Registry) Counts() (enrolled, pending, revoked int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.nodes {
		switch n.State {
		case StateEnrolled:
			enrolled++
		case StatePending:
			pending++
		case StateRevoked:
			revoked++
		}
	}
	return
}

// RejectPending forgets the nodes waiting for approval, all of them or
// those last seen at addr's source address (a host:port or an address),
// and returns them. They are not revoked: one still connecting asks again
// (within max_pending_per_address).
func (r *Registry) RejectPending(addr string) []Node {
	r.mu.Lock()
	defer r.mu.Unlock()
	src := ""
	if addr != "" {
		src = refusal.SourceOf(addr)
	}
	var gone []Node
	for id, n := range r.nodes {
		if n.State == StatePending && (src == "" || refusal.SourceOf(n.LastAddress) == src) {
			delete(r.nodes, id)
			gone = append(gone, *n)
			r.dirty, r.urgent = true, true
		}
	}
	sortNodes(gone)
	return gone
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

// CleanNickname bounds a peer-given nickname and strips control characters.
// maxNickname is the most bytes of a nickname kept.
const maxNickname = 200

func CleanNickname(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxNickname {
		// Cut at a character boundary: the nickname travels to the
		// outputs as a protobuf string, which must stay valid UTF-8.
		cut := maxNickname
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if s == "" {
		s = "unnamed"
	}
	return s
}

// Policy is the enrolment policy: open, approve or allowlist.
func (r *Registry) Policy() string { return r.policy }

// Enrolled reports whether node id is enrolled.
func (r *Registry) Enrolled(id string) bool {
	r.mu.Lock()
	n := r.nodes[id]
	enrolled := n != nil && n.State == StateEnrolled
	r.mu.Unlock()
	return enrolled
}

// Listed reports whether node id is in the node list, in any state.
func (r *Registry) Listed(id string) bool {
	r.mu.Lock()
	_, ok := r.nodes[id]
	r.mu.Unlock()
	return ok
}

// Lookup returns a copy of node id, if it is listed.
func (r *Registry) Lookup(id string) (Node, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.nodes[id]; n != nil {
		return *n, true
	}
	return Node{}, false
}

// Locked calls f with the node list, by id, locked: f must not keep the
// map nor take another lock the registry's callers hold while they call
// it. It is how the status page reads every node at once.
func (r *Registry) Locked(f func(nodes map[string]*Node)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.nodes)
}
