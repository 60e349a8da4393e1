package host

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

func TestCollectorHungSourceCostsOnlyThePollDeadline(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var calls atomic.Int32
	c := &collector{name: "hang", timeout: time.Hour, base: t.Context(), log: nullLog(),
		fn: func(ctx context.Context) (sdk.Stats, error) {
			calls.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return sdk.Stats{Counters: map[string]int64{"late": 1}}, nil
		}}
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		_, err := c.collect(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("poll %d: error %v, want a deadline", i, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls to a source still busy, want 1 (polls must not pile up)", n)
	}
	close(release)
	st, err := c.collect(t.Context())
	if err != nil || st.Counters["late"] != 1 {
		t.Errorf("after release: %v %v", st, err)
	}
}

func TestCollectorConcurrentPollsShareACall(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	gate := make(chan struct{})
	c := &collector{name: "slow", timeout: time.Hour, base: t.Context(), log: nullLog(),
		fn: func(ctx context.Context) (sdk.Stats, error) {
			calls.Add(1)
			<-gate
			return sdk.Stats{Counters: map[string]int64{"n": 1}}, nil
		}}
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for range 4 {
		wg.Go(func() {
			started <- struct{}{}
			st, err := c.collect(t.Context())
			if err != nil || st.Counters["n"] != 1 {
				t.Errorf("collect: %v %v", st, err)
			}
		})
	}
	for range 4 {
		<-started
	}
	// Let every poll join the call before it ends.
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d calls for 4 concurrent polls, want 1", n)
	}
}

func TestCollectorTimeoutBoundsTheCall(t *testing.T) {
	t.Parallel()
	c := &collector{name: "slow", timeout: 10 * time.Millisecond, base: t.Context(), log: nullLog(),
		fn: func(ctx context.Context) (sdk.Stats, error) {
			<-ctx.Done()
			return sdk.Stats{}, ctx.Err()
		}}
	if _, err := c.collect(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the collector's own deadline", err)
	}
}
