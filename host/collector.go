package host

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// collector asks one source for its stats with at most one call in flight:
// a poll that arrives while a call is running waits for that call's answer
// instead of queueing behind it, and gives up at its own deadline, so a
// hung source costs each poll at most the poll's timeout and never stalls
// the answer.
type collector struct {
	name    string
	timeout time.Duration
	fn      func(ctx context.Context) (sdk.Stats, error)
	// base bounds every call: the host's lifetime.
	base context.Context
	log  hclog.Logger

	mu      sync.Mutex
	call    *call
	lastErr string
}

type call struct {
	done  chan struct{}
	stats sdk.Stats
	err   error
}

// collect returns the source's stats, or an error when the source failed or
// did not answer before ctx is done.
func (c *collector) collect(ctx context.Context) (sdk.Stats, error) {
	c.mu.Lock()
	cl := c.call
	if cl == nil {
		cl = &call{done: make(chan struct{})}
		c.call = cl
		go c.run(cl, c.timeout)
	}
	c.mu.Unlock()
	select {
	case <-cl.done:
		return cl.stats, cl.err
	case <-ctx.Done():
		return sdk.Stats{}, fmt.Errorf("%s: no answer in time for this poll: %w", c.name, ctx.Err())
	}
}

// setTimeout changes the timeout of the calls to come.
func (c *collector) setTimeout(d time.Duration) {
	c.mu.Lock()
	c.timeout = d
	c.mu.Unlock()
}

func (c *collector) run(cl *call, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(c.base, timeout)
	st, err := c.fn(ctx)
	cancel()
	cl.stats, cl.err = st, err
	c.mu.Lock()
	c.call = nil
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	changed := msg != c.lastErr
	c.lastErr = msg
	c.mu.Unlock()
	close(cl.done)
	// Log when the error changes, not at every poll.
	switch {
	case c.base.Err() != nil:
		// Shutting down.
	case changed && err != nil && st.Len() > 0:
		c.log.Warn("collecting stats partly failed; the stats it did return are kept", "error", err, "stats", st.Len())
	case changed && err != nil:
		c.log.Warn("collecting stats failed; its stats are missing from polls until it answers", "error", err)
	case changed:
		c.log.Info("collecting stats works again")
	}
}
