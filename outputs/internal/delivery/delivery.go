// Package delivery is the sending half of the outputs that keep a
// durable queue (remote_write, graphite, influxdb): it opens the queue
// (package queue), appends each round to it, and sends the queued records
// in order to the receiver through the output's Post, with the same
// concurrency, backoff, bounds, logs and own stats for every output.
//
// An output encodes a round into records (each one request, or one
// batch of lines) and hands them to Append; Post sends one record and
// says how it went: nil (delivered), *Rejected (the receiver refuses it
// and always will: dropped and counted), or any other error (retried with
// capped backoff until delivered or out of the queue's bounds).
package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/outputs/internal/queue"
)

// Rejected is what Post returns for a record the receiver refuses for
// good (an HTTP 4xx other than 429, say): sending it again would fail
// again, so it is dropped, counted and logged with the receiver's own
// message.
type Rejected struct {
	// Status is the receiver's status code (0 if it has none).
	Status int
	// Msg is the receiver's own message.
	Msg string
}

func (r *Rejected) Error() string { return fmt.Sprintf("receiver refused (%d): %s", r.Status, r.Msg) }

// RetryAfter is what Post returns when the receiver asked to wait
// (Retry-After) before the next try; the wait is capped at MaxBackoff.
type RetryAfter struct {
	Wait time.Duration
	Err  error
}

func (r *RetryAfter) Error() string { return r.Err.Error() }
func (r *RetryAfter) Unwrap() error { return r.Err }

// Post sends one record. It returns nil once the receiver has it, a
// *Rejected if it never will, or another error to be retried.
type Post func(ctx context.Context, e queue.Entry) error

// Options configure a Pipe.
type Options struct {
	// Queue is the queue's directory, bounds and clock.
	Queue queue.Options
	// Concurrency bounds the records in flight (all of one round).
	Concurrency int
	// MinBackoff is the first wait before a retry; it doubles up to
	// MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// Target names the receiver in the logs (a URL, an address).
	Target string
	Post   Post
	Log    hclog.Logger
	// LogEvery is the least time between two log lines of failures, and
	// of refusals (a minute).
	LogEvery time.Duration
}

// Pipe is an output's queue and the sender that drains it.
type Pipe struct {
	q      *queue.Queue
	send   *sender
	now    func() time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	appended int64       // samples queued since start
	backlog  queue.Stats // the queue as a round arrived, before it was added
}

// Start opens (or creates) the queue, recovering what an earlier run left
// in it, and starts sending. Close stops it.
func Start(opt Options) (*Pipe, error) {
	if opt.Post == nil {
		return nil, errors.New("delivery: no Post")
	}
	if opt.Log == nil {
		opt.Log = hclog.NewNullLogger()
	}
	if opt.Queue.Now == nil {
		opt.Queue.Now = time.Now
	}
	if opt.Queue.Log == nil {
		opt.Queue.Log = opt.Log.Named("queue")
	}
	if opt.LogEvery <= 0 {
		opt.LogEvery = time.Minute
	}
	q, err := queue.Open(opt.Queue)
	if err != nil {
		return nil, fmt.Errorf("opening the queue in %s: %w", opt.Queue.Dir, err)
	}
	p := &Pipe{q: q, now: opt.Queue.Now, done: make(chan struct{})}
	p.send = &sender{log: opt.Log, q: q, post: opt.Post, target: opt.Target, concurrency: max(opt.Concurrency, 1),
		minBackoff: opt.MinBackoff, maxBackoff: max(opt.MaxBackoff, opt.MinBackoff), logEvery: opt.LogEvery}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() {
		defer close(p.done)
		p.send.run(ctx)
	}()
	return p, nil
}

// Append queues a round's records (samples in all), synced to disk
// before it returns.
func (p *Pipe) Append(recs []queue.Record, samples int) error {
	backlog := p.q.Stats()
	if err := p.q.Append(recs); err != nil {
		return err
	}
	p.mu.Lock()
	p.appended += int64(samples)
	p.backlog = backlog
	p.mu.Unlock()
	return nil
}

// Close stops sending; what is not yet sent stays in the queue for the
// next start.
func (p *Pipe) Close(ctx context.Context) error {
	p.cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	return p.q.Close()
}
