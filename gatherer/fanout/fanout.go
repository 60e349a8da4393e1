// Package fanout hands each round to the gatherer's outputs: every output
// is fed from a bounded queue of its own (Fanout), so that a slow or
// failing output never holds up the others or the next round.
package fanout

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/supervisor"
	"github.com/statsherd/statsherd/sdk"
)

// Output is where rounds go. *supervisor.Plugin is one; tests use others.
type Output interface {
	Name() string
	// Write hands the output one round, under ctx's deadline.
	Write(ctx context.Context, r sdk.Round) error
	// State is the output's health.
	State() supervisor.State
	// Stop closes (flushes) the output; nothing is written after.
	Stop(ctx context.Context)
}

var _ Output = (*supervisor.Plugin)(nil)

// statsReporter is an Output that reports stats of its own (an output
// plugin that is an sdk.StatsReporter, through *supervisor.Plugin): asked
// after each write, they are reported among the gatherer's own stats and
// on the status page.
type statsReporter interface {
	OutputStats() sdk.Stats
}

var _ statsReporter = (*supervisor.Plugin)(nil)

// queued is a round waiting for one output, with the sequence number of
// the newest round merged into it.
type queued struct {
	seq   uint64
	round sdk.Round
}

// Fanout feeds one output from its own bounded queue, so that a slow or
// failing output never holds up the others or the next round. When the
// queue is full the newest queued round absorbs the new one (each node's
// newest sample wins), and the coalescing is counted.
type Fanout struct {
	out     Output
	timeout time.Duration
	limit   int
	log     hclog.Logger
	// written is called after each write with the newest round sequence
	// the write carried.
	written func(seq uint64)

	mu        sync.Mutex
	queue     []queued
	wake      chan struct{}
	closed    bool
	coalesced int64
	errors    int64
	lastErr   string
	lastWrite time.Duration
	busy      bool
	stats     sdk.Stats // the output's own, as of its last write

	done chan struct{}
}

func New(out Output, timeout time.Duration, limit int, log hclog.Logger, written func(uint64)) *Fanout {
	return &Fanout{out: out, timeout: timeout, limit: max(limit, 1), log: log.With("output", out.Name()),
		written: written, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Push queues a round; it never blocks.
func (f *Fanout) Push(seq uint64, r sdk.Round) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	if len(f.queue) >= f.limit {
		last := &f.queue[len(f.queue)-1]
		last.round = coalesce(last.round, r)
		last.seq = seq
		f.coalesced++
		n := f.coalesced
		f.mu.Unlock()
		f.log.Warn("output is behind: rounds coalesced", "coalesced_total", n)
	} else {
		f.queue = append(f.queue, queued{seq: seq, round: r})
		f.mu.Unlock()
	}
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// coalesce merges newer into older: every node of either, with the newer
// sample where both have one.
func coalesce(older, newer sdk.Round) sdk.Round {
	seen := make(map[string]bool, len(newer.Nodes))
	nodes := make([]sdk.NodeSample, 0, len(newer.Nodes)+len(older.Nodes))
	for _, n := range newer.Nodes {
		seen[n.ID] = true
		nodes = append(nodes, n)
	}
	for _, n := range older.Nodes {
		if !seen[n.ID] {
			nodes = append(nodes, n)
		}
	}
	return sdk.Round{Time: newer.Time, Nodes: nodes}
}

// Run writes queued rounds until Close is called and the queue is empty.
func (f *Fanout) Run(ctx context.Context) {
	defer close(f.done)
	for {
		f.mu.Lock()
		if len(f.queue) == 0 {
			closed := f.closed
			f.mu.Unlock()
			if closed {
				return
			}
			<-f.wake
			continue
		}
		q := f.queue[0]
		// Not kept alive by the queue's array until the next round: a
		// round of a large fleet is tens of megabytes.
		f.queue[0] = queued{}
		f.queue = f.queue[1:]
		f.busy = true
		f.mu.Unlock()

		wctx, cancel := context.WithTimeout(ctx, f.timeout)
		start := time.Now()
		err := f.out.Write(wctx, q.round)
		cancel()
		took := time.Since(start)
		var own sdk.Stats
		if r, ok := f.out.(statsReporter); ok {
			own = r.OutputStats()
		}

		f.mu.Lock()
		f.busy = false
		if own.Len() > 0 {
			f.stats = own
		}
		f.lastWrite = took
		if err != nil {
			f.errors++
			f.lastErr = err.Error()
		} else {
			f.lastErr = ""
		}
		f.mu.Unlock()
		if err != nil {
			f.log.Warn("output write failed", "error", err, "nodes", len(q.round.Nodes), "took", took)
		} else {
			f.log.Debug("round written", "nodes", len(q.round.Nodes), "took", took)
		}
		f.written(q.seq)
		q = queued{}
	}
}

// Close makes Run return once the queue is written.
func (f *Fanout) Close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Status is an output as the status page shows it.
type Status struct {
	Name      string  `json:"name"`
	Up        bool    `json:"up"`
	Restarts  int64   `json:"restarts"`
	Writes    int64   `json:"writes"`
	Failures  int64   `json:"failures"`
	Queued    int     `json:"queued"`
	Coalesced int64   `json:"coalesced"`
	Errors    int64   `json:"errors"`
	LastError string  `json:"last_error,omitempty"`
	WriteSecs float64 `json:"last_write_seconds"`
	// Stats are the output's own (queue depth, …), if it reports any.
	Stats map[string]float64 `json:"stats,omitempty"`
}

func (f *Fanout) Status() Status {
	st := f.out.State()
	f.mu.Lock()
	defer f.mu.Unlock()
	q := len(f.queue)
	if f.busy {
		q++
	}
	out := Status{Name: f.out.Name(), Up: st.Up, Restarts: st.Restarts, Writes: st.Calls, Failures: st.Failures,
		Queued: q, Coalesced: f.coalesced, Errors: f.errors, LastError: f.lastErr, WriteSecs: f.lastWrite.Seconds()}
	if f.stats.Len() > 0 {
		out.Stats = make(map[string]float64, f.stats.Len())
		for k, v := range f.stats.Counters {
			out.Stats[k] = float64(v)
		}
		for k, v := range f.stats.Stats {
			if x, ok := v.Float64(); ok {
				out.Stats[k] = x
			}
		}
	}
	return out
}

// Output is the output f feeds.
func (f *Fanout) Output() Output { return f.out }

// OwnStats returns the output's own stats as of its last write.
func (f *Fanout) OwnStats() sdk.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}
