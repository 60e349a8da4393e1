package gatherer

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/statsherd/statsherd/gatherer/status"
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

// round polls every connected host (poll.Hosts.Poll) and queues the
// answers, with the gatherer's own node, for every output.
func (g *Gatherer) round(ctx context.Context) {
	start := time.Now()
	seq := g.rounds.begin(start)
	res, ok := g.hosts.Poll(ctx, seq, start)
	if !ok {
		return
	}
	nodes, failures, took := res.Nodes, res.Failures, res.Took
	g.stats.rounds.Add(1)
	g.stats.pollFailures.Add(failures)
	g.stats.answers.Add(int64(len(nodes)))
	g.rounds.polled(seq, took, len(nodes), int(failures))
	g.page.Round(start, res.Hosts, len(nodes), int(failures), took, g.outputStatuses(), nodes)
	nodes = append(nodes, g.selfSample(res.Hosts, len(nodes), took))
	// Every output is sent the same bytes: encoded once, not per output.
	r := daemon.SharedEncoding(sdk.Round{Time: start, Nodes: nodes})
	for _, f := range g.outputs {
		f.Push(seq, r)
	}
	if len(g.outputs) == 0 {
		g.rounds.written(-1, seq)
	}
	g.log.Debug("round polled", "round", seq, "hosts", res.Hosts, "answers", len(nodes)-1, "failures", failures, "took", took)
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
