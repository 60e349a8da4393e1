// Package registry is the gatherer's node list (nodes.json): the nodes it
// knows, enrolled, pending or revoked, and the enrolment policy that
// decides whether a node that finished its handshake may report (Admit).
package registry

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/refusal"
)

// maxPending bounds the nodes waiting for approval (they also count
// against max_nodes): a peer with the furl cannot fill the list.
const maxPending = 1000

// lastSeenResolution: a node's last_seen is saved when it advanced this
// much (forget_after is days), so answers do not rewrite the file.
const lastSeenResolution = time.Hour

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

// KnownSource reports whether an enrolled node was seen at src.
func (r *Registry) KnownSource(src string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sources[src]
}

// youngNode: a node with the fleet less than this is forgotten after
// forget_new_after, not forget_after.
const youngNode = time.Hour

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
