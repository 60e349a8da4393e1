// Package poll is the gatherer's connected hosts: the table of them, the
// readers of their connections (the idle watcher, or a goroutine per
// host) and the rounds that poll them (Hosts.Poll). The gatherer hands it
// each welcomed host (Add, Read) and takes each round's result (Result)
// to its own stats, the status page and the outputs.
package poll

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/gatherer/admission"
	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/gatherer/status"
)

// Config is what Hosts is given by the gatherer.
type Config struct {
	Log hclog.Logger
	// Timeout is the poll timeout (poll_timeout), from a round's start.
	Timeout time.Duration
	// MaxStats is the quota of stats per node (max_stats_per_node).
	MaxStats int
	Nodes    *registry.Registry
	Refusals *refusal.Tally
	// Refuse counts a refused peer (a node already connected) and logs
	// it.
	Refuse func(kind, addr, nodeID, reason string)
}

// Hosts is the connected hosts.
type Hosts struct {
	log      hclog.Logger
	timeout  time.Duration
	nodes    *registry.Registry
	refusals *refusal.Tally
	refuse   func(kind, addr, nodeID, reason string)
	quotas   quotas
	connects atomic.Int64

	mu      sync.Mutex
	hosts   map[string]*Host
	closing bool // set at shutdown: no more hosts are registered

	// idle waits for the idle host connections (watch_linux.go); nil:
	// a reader goroutine per host.
	idle *idleWatcher
}

// New returns an empty table of hosts.
func New(cfg Config) *Hosts {
	return &Hosts{
		log: cfg.Log, timeout: cfg.Timeout, nodes: cfg.Nodes, refusals: cfg.Refusals, refuse: cfg.Refuse,
		quotas: quotas{maxStats: cfg.MaxStats, refusals: cfg.Refusals},
		hosts:  map[string]*Host{},
	}
}

// WatchIdle starts the idle watcher, before the first host is read;
// without it (an error), each host connection keeps a reader goroutine.
func (t *Hosts) WatchIdle() error {
	var err error
	t.idle, err = newIdleWatcher()
	return err
}

// Connects counts the hosts registered.
func (t *Hosts) Connects() int64 { return t.connects.Load() }

// NewHost is the host of a welcomed connection.
func (t *Hosts) NewHost(w admission.Welcomed) *Host {
	h := &Host{
		id: w.NodeID, nickname: w.Nickname, addr: w.Addr, versions: w.Versions,
		since: time.Now(), conn: w.Conn, q: &t.quotas, fresh: w.Fresh,
	}
	h.log = t.log.With("node", w.NodeID, "nickname", w.Nickname)
	return h
}

// Add registers a welcomed host, with its track on the status page. A
// host already connected with the same node id (welcomed at the same
// moment) makes this one refused; then, or at shutdown, Add returns false
// and the host's place among max_nodes is given back.
func (t *Hosts) Add(h *Host, track *status.Track) bool {
	if !t.register(h, track) {
		t.releaseNode(h)
		return false
	}
	return true
}

// Read reads h's answers until its connection ends, then calls done.
func (t *Hosts) Read(h *Host, done func()) {
	// The idle watcher reads h's messages as they come, with no
	// goroutine between them.
	if err := t.idle.watch(h, func() { t.ended(h, done) }); err == nil {
		return
	}
	// Else a reader goroutine of its own, started on a fresh stack: the
	// handshake's deep stack is left behind with this goroutine, and the
	// reader's, idle between polls, shrinks to the smallest.
	go t.serve(h, done)
}

// serve reads h's answers until its connection ends.
func (t *Hosts) serve(h *Host, done func()) {
	h.read()
	t.ended(h, done)
}

// ended is called once h's connection is over and nothing reads it any
// more: the round waiting on it is told, and its slot is freed.
func (t *Hosts) ended(h *Host, done func()) {
	h.ended()
	t.unregister(h)
	t.releaseNode(h)
	done()
}

// releaseNode gives back the place among max_nodes that h held while
// not yet enrolled.
func (t *Hosts) releaseNode(h *Host) {
	if h.fresh {
		t.nodes.Release(h.id)
	}
}

// Close stops registering hosts and closes every connection; their
// readers then stop.
func (t *Hosts) Close() {
	t.mu.Lock()
	t.closing = true
	t.mu.Unlock()
	for _, h := range t.Connected() {
		h.close()
	}
}

// StopWatching stops the idle watcher, once every reader is done.
func (t *Hosts) StopWatching() { t.idle.close() }

// LiveAddr returns the address of node id's connection, unless there is
// none or it is closing.
func (t *Hosts) LiveAddr(id string) (string, bool) {
	t.mu.Lock()
	old := t.hosts[id]
	t.mu.Unlock()
	if old != nil && !old.closed.Load() {
		return old.addr, true
	}
	return "", false
}

// register adds a welcomed host. A host already connected with the same
// node id (welcomed at the same moment) makes this one refused.
func (t *Hosts) register(h *Host, track *status.Track) bool {
	// Before a round can see the host.
	h.track = track
	t.mu.Lock()
	if t.closing {
		// Welcomed just as the gatherer stops: the reader sees the
		// connection closed and returns.
		t.mu.Unlock()
		h.close()
		return false
	}
	if old := t.hosts[h.id]; old != nil && !old.closed.Load() {
		t.mu.Unlock()
		reason := fmt.Sprintf("node %s is already connected from %s", h.id, old.addr)
		t.refuse(refusal.Duplicate, h.addr, h.id, reason)
		h.refuse(reason)
		return false
	}
	t.hosts[h.id] = h
	t.mu.Unlock()
	h.track.Connected(h.addr, h.versions)
	t.connects.Add(1)
	h.log.Debug("welcomed", "address", h.addr)
	return true
}

// forgetHost removes h from the connected hosts (its connection is
// closing).
func (t *Hosts) forgetHost(h *Host) {
	t.mu.Lock()
	if t.hosts[h.id] == h {
		delete(t.hosts, h.id)
	}
	t.mu.Unlock()
}

// unregister removes a host whose reader stopped, unless it was replaced.
func (t *Hosts) unregister(h *Host) {
	t.mu.Lock()
	if t.hosts[h.id] == h {
		delete(t.hosts, h.id)
	}
	t.mu.Unlock()
	h.track.Disconnected(h.err)
	args := []any{"address", h.addr}
	if h.err != nil && !errors.Is(h.err, net.ErrClosed) {
		args = append(args, "error", h.err)
	}
	if !h.announced.Load() {
		// Never answered: counted and summarised, not a line each.
		reason := "connection closed before its first answer"
		if h.err != nil && !errors.Is(h.err, net.ErrClosed) {
			reason += ": " + h.err.Error()
		}
		t.refusals.Add(refusal.NoAnswer, h.addr, h.id, reason, 1)
		return
	}
	h.log.Info("disconnect", args...)
}

// Connected returns the connected hosts, in no particular order.
func (t *Hosts) Connected() []*Host {
	t.mu.Lock()
	hs := make([]*Host, 0, len(t.hosts))
	for _, h := range t.hosts {
		hs = append(hs, h)
	}
	t.mu.Unlock()
	return hs
}

// Len is the number of connected hosts.
func (t *Hosts) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.hosts)
}

// Sorted returns the connected hosts, sorted by nickname and id.
func (t *Hosts) Sorted() []*Host {
	hs := t.Connected()
	sort.Slice(hs, func(i, j int) bool {
		if hs[i].nickname != hs[j].nickname {
			return hs[i].nickname < hs[j].nickname
		}
		return hs[i].id < hs[j].id
	})
	return hs
}

// IsConnected says whether node id has a connected host.
func (t *Hosts) IsConnected(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.hosts[id]
	return ok
}

// Conns are the connected hosts, for the fleet view.
func (t *Hosts) Conns() map[string]status.Conn {
	t.mu.Lock()
	conns := make(map[string]status.Conn, len(t.hosts))
	for id, h := range t.hosts {
		conns[id] = status.Conn{Nickname: h.nickname, Addr: h.addr, Since: h.since}
	}
	t.mu.Unlock()
	return conns
}

// Mark sets Connected and LastAddress of the connected nodes among
// nodes.
func (t *Hosts) Mark(nodes []registry.Node) {
	t.mu.Lock()
	for i := range nodes {
		if h, ok := t.hosts[nodes[i].ID]; ok {
			nodes[i].Connected = true
			nodes[i].LastAddress = h.addr
		}
	}
	t.mu.Unlock()
}

// Disconnect forgets node id's host, if it is connected, and refuses it
// with reason.
func (t *Hosts) Disconnect(id, reason string) bool {
	t.mu.Lock()
	h := t.hosts[id]
	if h != nil {
		delete(t.hosts, id)
	}
	t.mu.Unlock()
	if h != nil {
		h.refuse(reason)
	}
	return h != nil
}

// DropUnlisted disconnects the connected nodes not in allowed, telling
// each why, and returns how many it disconnected.
func (t *Hosts) DropUnlisted(allowed map[string]bool) int {
	t.mu.Lock()
	var gone []*Host
	for id, h := range t.hosts {
		if !allowed[id] {
			gone = append(gone, h)
			delete(t.hosts, id)
		}
	}
	t.mu.Unlock()
	for _, h := range gone {
		h.log.Warn("disconnected: no longer on the allowlist")
		h.refuse("node " + h.id + " is no longer on the gatherer's allowlist")
	}
	return len(gone)
}
