package delivery

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/outputs/internal/queue"
)

// counters are the sender's running totals, reported as stats.
type counters struct {
	sentSamples     atomic.Int64
	sentRequests    atomic.Int64
	sentBytes       atomic.Int64
	retries         atomic.Int64
	rejectedSamples atomic.Int64
	rejectedReqs    atomic.Int64
	expiredSamples  atomic.Int64
}

// sender reads the queue in order and posts each record to the receiver.
// The records of one round go out concurrently (at most concurrency at a
// time: a round's series are all different); the next round starts when
// the previous one is done, so every series receives its samples in time
// order, as a receiver requires.
type sender struct {
	log         hclog.Logger
	q           *queue.Queue
	post        Post
	target      string
	concurrency int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	c           counters

	// Summaries of failures, logged at most once a logEvery.
	mu        sync.Mutex
	logEvery  time.Duration
	lastLog   time.Time
	sinceLog  int64
	rejectLog time.Time
}

// run sends until ctx is done.
func (s *sender) run(ctx context.Context) {
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	type roundState struct {
		round            int64
		records, samples int64
		next             queue.Pos
	}
	var rs *roundState
	for {
		e, err := s.q.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, queue.ErrClosed) {
				wg.Wait()
				return
			}
			// A segment that cannot be opened: say so and try again,
			// never stop sending for good.
			s.log.Error("reading the queue; trying again in 10 s", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
			continue
		}
		if rs != nil && (e.Index == 0 || e.Round != rs.round) {
			// The round before ended short (its last record was
			// damaged, or cut with a torn tail): what was sent of it is
			// acknowledged now.
			wg.Wait()
			if ctx.Err() != nil {
				return
			}
			if err := s.q.Ack(rs.next, rs.records, rs.samples, 0, 0); err != nil {
				s.log.Error("saving the queue's position", "error", err)
			}
			rs = nil
		}
		if rs == nil {
			rs = &roundState{round: e.Round}
		}
		rs.records++
		rs.samples += int64(e.Samples)
		rs.next = e.Next
		if s.q.Expired(e.Round) {
			s.c.expiredSamples.Add(int64(e.Samples))
		} else {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				s.deliver(ctx, e)
			}()
		}
		if e.Index != e.Count-1 {
			continue
		}
		wg.Wait()
		if ctx.Err() != nil {
			return // not acknowledged: sent again after a restart
		}
		// A round dropped at the size bound while it was being sent is
		// already counted there; Ack then does nothing.
		if err := s.q.Ack(e.Next, rs.records, rs.samples, 0, 0); err != nil {
			s.log.Error("saving the queue's position", "error", err)
		}
		rs = nil
	}
}

// deliver posts one record until it is accepted (true), or rejected,
// dropped at the queue's bound, too old, or ctx is done (false).
func (s *sender) deliver(ctx context.Context, e queue.Entry) bool {
	backoff := s.minBackoff
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if s.q.Dropped(e.Pos) {
				return false
			}
			if s.q.Expired(e.Round) {
				s.c.expiredSamples.Add(int64(e.Samples))
				return false
			}
			s.c.retries.Add(1)
		}
		err := s.post(ctx, e)
		var rej *Rejected
		switch {
		case err == nil:
			s.c.sentSamples.Add(int64(e.Samples))
			s.c.sentRequests.Add(1)
			s.c.sentBytes.Add(int64(len(e.Body)))
			return true
		case errors.As(err, &rej):
			s.c.rejectedSamples.Add(int64(e.Samples))
			s.c.rejectedReqs.Add(1)
			s.rejected(rej, e)
			return true // done: sending it again would fail again
		}
		if ctx.Err() != nil {
			return false
		}
		s.failed(err)
		var ra *RetryAfter
		wait := backoff
		if errors.As(err, &ra) && ra.Wait > 0 {
			wait = ra.Wait
		}
		wait = min(wait, s.maxBackoff)
		backoff = min(backoff*2, s.maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// failed records a failure to be retried, logging a summary at most once
// a logEvery.
func (s *sender) failed(err error) {
	s.mu.Lock()
	s.sinceLog++
	now := time.Now()
	if now.Sub(s.lastLog) < s.logEvery {
		s.mu.Unlock()
		return
	}
	n := s.sinceLog
	s.lastLog, s.sinceLog = now, 0
	s.mu.Unlock()
	var uerr interface{ Timeout() bool }
	s.log.Warn("sending failed; retrying with backoff, rounds wait in the queue",
		"to", s.target, "error", err, "failures_since_last_log", n, "timeout", errors.As(err, &uerr) && uerr.Timeout())
}

// rejected logs a record the receiver refused, with its message, at most
// once a logEvery.
func (s *sender) rejected(r *Rejected, e queue.Entry) {
	s.mu.Lock()
	now := time.Now()
	if now.Sub(s.rejectLog) < s.logEvery {
		s.mu.Unlock()
		return
	}
	s.rejectLog = now
	s.mu.Unlock()
	s.log.Error("receiver refused a request; its samples are dropped", "to", s.target, "status", r.Status,
		"message", r.Msg, "samples", e.Samples, "round", time.UnixMilli(e.Round).UTC().Format(time.RFC3339Nano),
		"rejected_samples_total", s.c.rejectedSamples.Load())
}
