package poll

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
)

// Senders is the number of goroutines that write a round's polls to n
// hosts.
func Senders(n int) int { return min(n, max(16, 4*runtime.GOMAXPROCS(0))) }

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

// Result is what a round polled.
type Result struct {
	// Hosts is the number of hosts polled; Nodes are the samples of
	// those that answered, with room for one more (the gatherer's own);
	// Failures counts the others.
	Hosts    int
	Nodes    []sdk.NodeSample
	Failures int64
	// Took is the round's time from start to its last result.
	Took time.Duration
}

// Poll polls every connected host for round seq, which started at start,
// all under the poll timeout from the round's start, drops the hosts that
// fail, and returns the answers; false means ctx was done first. A few
// sender goroutines write the polls; the answers are delivered by the
// hosts' readers (the idle watcher's, or each host's reader goroutine),
// and this goroutine collects them: no goroutine per host.
func (t *Hosts) Poll(ctx context.Context, seq uint64, start time.Time) (Result, bool) {
	hosts := t.Connected()
	timeout := t.timeout
	p := &pollRound{id: seq, deadline: start.Add(timeout), poll: wire.NewPoll(seq, timeout.Milliseconds()),
		results: make([]reply, len(hosts)), done: make(chan int, len(hosts))}
	waits := make([]pollWait, len(hosts))
	for i := range waits {
		waits[i] = pollWait{round: p, i: i}
	}
	var next atomic.Int64
	var senders sync.WaitGroup
	for range Senders(len(hosts)) {
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
			return Result{}, false
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
			t.pollFailed(h, err)
			continue
		}
		t.nodes.Seen(h.id, h.nickname, h.addr, r.at, r.names)
		if h.announced.CompareAndSwap(false, true) {
			h.log.Info("connect", "address", h.addr)
		}
		ok[i] = true
	}
	if ctx.Err() != nil {
		return Result{}, false
	}
	nodes := make([]sdk.NodeSample, 0, len(hosts)+1)
	for i := range p.results {
		if ok[i] {
			nodes = append(nodes, p.results[i].sample)
		}
	}
	t.quotas.names.EndRound()
	return Result{Hosts: len(hosts), Nodes: nodes, Failures: failures, Took: time.Since(start)}, true
}

// pollFailed drops a host whose poll failed, at once, so that no round
// polls it again; it reconnects on its own. Over a quota, it is told why
// (and counted, and its last good sample stays). What may block (a
// refusal written, a TLS close) is done on a goroutine of its own, so the
// round's collector goes on.
func (t *Hosts) pollFailed(h *Host, err error) {
	var q *errQuota
	told := errors.As(err, &q) && q.told
	if !told && q == nil && !errors.Is(err, errDropped) {
		t.refusals.Add(refusal.PollFailed, h.addr, h.id, err.Error(), 1)
	}
	h.closed.Store(true)
	t.forgetHost(h)
	switch {
	case told:
		// Its reader closes it.
	case q != nil:
		go h.refuse(q.reason)
	default:
		go h.close()
	}
}
