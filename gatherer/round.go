package gatherer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/status"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// pollLoop runs a round every poll interval until ctx is done.
func (g *Gatherer) pollLoop(ctx context.Context) {
	t := time.NewTicker(g.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.round(ctx)
		}
	}
}

// pollSenders is the number of goroutines that write a round's polls to
// n hosts.
var pollSenders = func(n int) int { return min(n, max(16, 4*runtime.GOMAXPROCS(0))) }

// pollRound is a round waiting for its hosts' results: each host's
// result is stored at the host's index by whoever delivers it
// (host.deliver: the reader, the end of the connection, a sender whose
// write failed, or the round at its deadline), which then sends the
// index on done. A host delivers at most once per round, so done never
// blocks.
type pollRound struct {
	id       uint64
	deadline time.Time
	poll     *wire.Message // the same for every host: encoding reads it only
	results  []reply
	done     chan int
}

func (p *pollRound) put(i int, r reply) {
	p.results[i] = r
	p.done <- i
}

// round polls every connected host, all under the poll timeout from the
// round's start, drops the hosts that fail, and queues the answers, with
// the gatherer's own node, for every output. A few sender goroutines
// write the polls; the answers are delivered by the hosts' readers (the
// idle watcher's, or each host's reader goroutine), and this goroutine
// collects them: no goroutine per host.
func (g *Gatherer) round(ctx context.Context) {
	start := time.Now()
	seq := g.rounds.begin(start)
	hosts := g.connected()
	timeout := g.cfg.PollTimeout
	p := &pollRound{id: seq, deadline: start.Add(timeout), poll: wire.NewPoll(seq, timeout.Milliseconds()),
		results: make([]reply, len(hosts)), done: make(chan int, len(hosts))}
	waits := make([]pollWait, len(hosts))
	for i := range waits {
		waits[i] = pollWait{round: p, i: i}
	}
	var next atomic.Int64
	var senders sync.WaitGroup
	for range pollSenders(len(hosts)) {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(hosts) {
					return
				}
				if time.Now().After(p.deadline) {
					// Too late to ask: the round takes it as a timeout.
					hosts[i].polled.Store(&waits[i])
					continue
				}
				hosts[i].send(&waits[i])
			}
		}()
	}

	ok := make([]bool, len(hosts))
	var failures int64
	deadline := time.NewTimer(time.Until(p.deadline))
	defer deadline.Stop()
	for got := 0; got < len(hosts); {
		var i int
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			// Every poll was written (or given up) by now: the write
			// deadline is the round's. A host still waiting times out,
			// and its answer, if it comes, is dropped.
			senders.Wait()
			for i, h := range hosts {
				if h.polled.CompareAndSwap(&waits[i], nil) {
					p.put(i, reply{id: seq, err: fmt.Errorf("no answer within %v: %w", timeout, context.DeadlineExceeded)})
				}
			}
			continue
		case i = <-p.done:
			got++
		}
		h, r := hosts[i], &p.results[i]
		h.pending.CompareAndSwap(seq, 0)
		err := r.err
		h.mu.Lock()
		h.polls++
		if err != nil {
			h.lastError = err.Error()
		} else {
			h.lastAnswer, h.lastError = r.at, ""
		}
		h.mu.Unlock()
		if h.track != nil {
			h.track.Answer(start, r.at, r.names, r.size, err)
		}
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			failures++
			g.pollFailed(h, err)
			continue
		}
		g.nodes.Seen(h.id, h.nickname, h.addr, r.at, r.names)
		if h.announced.CompareAndSwap(false, true) {
			h.log.Info("connect", "address", h.addr)
		}
		ok[i] = true
	}
	if ctx.Err() != nil {
		return
	}
	nodes := make([]sdk.NodeSample, 0, len(hosts)+1)
	for i := range p.results {
		if ok[i] {
			nodes = append(nodes, p.results[i].sample)
		}
	}
	g.quotas.names.EndRound()
	took := time.Since(start)
	g.stats.rounds.Add(1)
	g.stats.pollFailures.Add(failures)
	g.stats.answers.Add(int64(len(nodes)))
	g.rounds.polled(seq, took, len(nodes), int(failures))
	g.page.Round(start, len(hosts), len(nodes), int(failures), took, g.outputStatuses(), nodes)
	nodes = append(nodes, g.selfSample(len(hosts), len(nodes), took))
	// Every output is sent the same bytes: encoded once, not per output.
	r := daemon.SharedEncoding(sdk.Round{Time: start, Nodes: nodes})
	for _, f := range g.outputs {
		f.Push(seq, r)
	}
	if len(g.outputs) == 0 {
		g.rounds.written(-1, seq)
	}
	g.log.Debug("round polled", "round", seq, "hosts", len(hosts), "answers", len(nodes)-1, "failures", failures, "took", took)
}

// pollFailed drops a host whose poll failed, at once, so that no round
// polls it again; it reconnects on its own. Over a quota, it is told why
// (and counted, and its last good sample stays). What may block (a
// refusal written, a TLS close) is done on a goroutine of its own, so the
// round's collector goes on.
func (g *Gatherer) pollFailed(h *host, err error) {
	var q *errQuota
	told := errors.As(err, &q) && q.told
	if !told && q == nil && !errors.Is(err, errDropped) {
		g.refusals.Add(refusal.PollFailed, h.addr, h.id, err.Error(), 1)
	}
	h.closed.Store(true)
	g.forgetHost(h)
	switch {
	case told:
		// Its reader closes it.
	case q != nil:
		go h.refuse(q.reason)
	default:
		go h.close()
	}
}

// roundLog keeps the timing of recent rounds, for the gatherer's own
// stats, the status page and the load tool.
type roundLog struct {
	mu        sync.Mutex
	outputs   int
	seq       uint64
	starts    map[uint64]time.Time
	writtenBy []uint64 // the newest round each output has written
	last      status.RoundStatus
}

func (l *roundLog) begin(t time.Time) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.starts == nil {
		l.starts = map[uint64]time.Time{}
	}
	l.seq++
	l.starts[l.seq] = t
	// Forget rounds too old to matter.
	for s := range l.starts {
		if s+64 < l.seq {
			delete(l.starts, s)
		}
	}
	return l.seq
}

func (l *roundLog) polled(seq uint64, took time.Duration, answers, failures int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last.Seq, l.last.Time, l.last.PollSeconds = seq, l.starts[seq], took.Seconds()
	l.last.Answers, l.last.Failures = answers, failures
}

// written records that output i has written every round up to seq (a
// coalesced write covers the rounds it merged); i < 0 means there are no
// outputs. A round is complete once every output has written it.
func (l *roundLog) written(i int, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := seq
	if i >= 0 {
		if len(l.writtenBy) != l.outputs {
			l.writtenBy = make([]uint64, l.outputs)
		}
		l.writtenBy[i] = max(l.writtenBy[i], seq)
		m = slices.Min(l.writtenBy)
	}
	if m > l.last.WrittenSeq {
		l.last.WrittenSeq = m
		if start, ok := l.starts[m]; ok {
			l.last.TotalSeconds = time.Since(start).Seconds()
		}
	}
}

func (l *roundLog) status() status.RoundStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}
