package gatherer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/statsherd/statsherd/sdk"
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

// round polls every connected host concurrently, each under the poll
// timeout, drops the hosts that fail, and queues the answers, with the
// gatherer's own node, for every output.
func (g *Gatherer) round(ctx context.Context) {
	start := time.Now()
	seq := g.rounds.begin(start)
	hosts := g.connected()
	samples := make([]sdk.NodeSample, len(hosts))
	ok := make([]bool, len(hosts))
	var failures int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := h.poll(ctx, seq, g.cfg.PollTimeout)
			h.mu.Lock()
			h.polls++
			if err != nil {
				h.lastError = err.Error()
			} else {
				h.lastAnswer, h.lastError = r.at, ""
			}
			h.mu.Unlock()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				failures++
				mu.Unlock()
				// Dropped at once, so that no round polls it again; it
				// reconnects on its own. Over a quota, it is told why
				// (and counted, and its last good sample stays).
				var q *errQuota
				switch {
				case errors.As(err, &q) && q.told:
					h.closed.Store(true) // its reader closes it
				case errors.As(err, &q):
					h.refuse(q.reason)
				case !errors.Is(err, errDropped):
					g.refusals.add(refPollFailed, h.addr, h.id, err.Error(), 1)
				}
				if q != nil && q.told {
					g.forgetHost(h)
				} else {
					g.drop(h)
				}
				return
			}
			g.nodes.seen(h.id, h.nickname, h.addr, r.at)
			if h.announced.CompareAndSwap(false, true) {
				h.log.Info("connect", "address", h.addr)
			}
			samples[i] = r.sample
			ok[i] = true
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	nodes := make([]sdk.NodeSample, 0, len(hosts)+1)
	for i := range samples {
		if ok[i] {
			nodes = append(nodes, samples[i])
		}
	}
	g.quotas.names.EndRound()
	took := time.Since(start)
	g.stats.rounds.Add(1)
	g.stats.pollFailures.Add(failures)
	g.stats.answers.Add(int64(len(nodes)))
	g.rounds.polled(seq, took, len(nodes), int(failures))
	nodes = append(nodes, g.selfSample(len(hosts), len(nodes), took))
	// Every output is sent the same bytes: encoded once, not per output.
	r := sdk.Round{Time: start, Nodes: nodes}.WithSharedEncoding()
	for _, f := range g.outputs {
		f.push(seq, r)
	}
	if len(g.outputs) == 0 {
		g.rounds.written(-1, seq)
	}
	g.log.Debug("round polled", "round", seq, "hosts", len(hosts), "answers", len(nodes)-1, "failures", failures, "took", took)
}

// roundLog keeps the timing of recent rounds, for the gatherer's own
// stats, the status page and the load tool.
type roundLog struct {
	mu        sync.Mutex
	outputs   int
	seq       uint64
	starts    map[uint64]time.Time
	writtenBy []uint64 // the newest round each output has written
	last      RoundStatus
}

// RoundStatus describes the last round.
type RoundStatus struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time,omitzero"`
	PollSeconds  float64   `json:"poll_seconds"`
	Answers      int       `json:"answers"`
	Failures     int       `json:"failures"`
	WrittenSeq   uint64    `json:"written_seq"`
	TotalSeconds float64   `json:"total_seconds"` // start to every output written, of round WrittenSeq
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

func (l *roundLog) status() RoundStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}
