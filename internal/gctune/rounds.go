package gctune

import (
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Rounds tunes the collector of a process that works in rounds and waits
// in between: the gatherer polls its hosts and hands the round to its
// outputs; an output's process writes the round. Done says a round is
// over (written). Its GC percent follows the live heap (Percent, as
// Follow), and once the process has been quiet for Quiet after a round:
//
//   - with Release, its free heap goes back to the system: two
//     collections (the first moves sync.Pools' contents, gRPC's pooled
//     receive buffers among them, to their victim caches, the second
//     drops them) and every free page (debug.FreeOSMemory). Not for a
//     large heap: its collections cost more than a round;
//   - then After runs (trim.Executable: the pages of the executable the
//     round ran are dropped again).
//
// It is one mechanism for the gatherer and the outputs' processes, driven
// by the rounds themselves: no timer runs while the process waits.
type Rounds struct {
	cfg RoundsConfig
	f   *follower

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool

	quiets atomic.Int64 // rounds gone quiet, for tests
}

// RoundsConfig configures Rounds.
type RoundsConfig struct {
	// Quiet is how long after a round's end, with no other round ended
	// meanwhile, the release and After run.
	Quiet time.Duration
	// Percent is the GC percent for a live heap, as Follow takes it;
	// nil leaves the percent alone (GOGC).
	Percent func(live uint64) int
	// Release gives the free heap back to the system after each round.
	Release bool
	// After runs once quiet after a round; nil for nothing.
	After func()
}

// NewRounds starts tuning; Stop ends it, leaving the percent as it is.
func NewRounds(cfg RoundsConfig) *Rounds {
	r := &Rounds{cfg: cfg}
	if cfg.Percent != nil {
		r.f = newFollower(cfg.Percent)
		r.f.collected()
	}
	return r
}

// Done says a round is over: the release and After follow once the
// process has been quiet for Quiet.
func (r *Rounds) Done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.cfg.Quiet, r.quiet)
	} else {
		r.timer.Reset(r.cfg.Quiet)
	}
}

func (r *Rounds) quiet() {
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if stopped {
		return
	}
	if r.cfg.Release {
		runtime.GC()
		debug.FreeOSMemory()
	}
	if r.cfg.After != nil {
		r.cfg.After()
	}
	r.quiets.Add(1)
}

// Stop ends the tuning: nothing runs after a round any more, and the GC
// percent is no longer set.
func (r *Rounds) Stop() {
	r.mu.Lock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.mu.Unlock()
	if r.f != nil {
		r.f.stop()
	}
}
