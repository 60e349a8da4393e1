package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// releases counts the calls of an AfterBurst f, for tests.
var releases atomic.Int64

// AfterBurst calls f once the process has been quiet for quiet after a
// burst of at least burst bytes of allocation, until the returned stop is
// called.
//
// It is for a process that works in bursts and waits in between: the
// gatherer polls a round, then waits for the next one; an output
// plugin's process writes a round, then waits. A burst is seen by the
// collections it causes (no timer runs while the process is idle); what
// f allocates, and the collections it runs, are no burst.
func AfterBurst(quiet time.Duration, burst uint64, f func()) (stop func()) {
	r := &releaser{quiet: quiet, burst: burst, f: f, sample: []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}}
	r.mu.Lock()
	r.since = r.allocs()
	r.mu.Unlock()
	r.arm()
	return func() {
		r.mu.Lock()
		r.stopped = true
		if r.timer != nil {
			r.timer.Stop()
		}
		r.mu.Unlock()
	}
}

// Release gives the heap's free memory back to the operating system.
// After a round an output's heap holds the round's garbage, gRPC's
// pooled receive buffers (a round's size, kept by a sync.Pool until two
// collections pass) and the collector's headroom, and the runtime's
// scavenger returns them slowly, if at all: the munin output's process
// held 9 MiB of anonymous memory between rounds at 1,000 hosts, 4.5 MiB
// before its first. It costs two collections: cheap for a small heap,
// not for the gatherer's.
func Release() {
	// The first collection moves sync.Pools' contents (gRPC's buffers)
	// to their victim caches, FreeOSMemory's drops them and returns every
	// free page.
	runtime.GC()
	debug.FreeOSMemory()
}

type releaser struct {
	quiet time.Duration
	burst uint64
	f     func()

	mu      sync.Mutex
	sample  []metrics.Sample
	since   uint64 // bytes allocated as of the last release
	timer   *time.Timer
	stopped bool
}

// allocs is the bytes allocated since the process started (r.mu held).
func (r *releaser) allocs() uint64 {
	metrics.Read(r.sample)
	if r.sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return r.sample[0].Value.Uint64()
}

func (r *releaser) arm() {
	runtime.AddCleanup(new([64]byte), (*releaser).collected, r)
}

// collected runs after each collection: after a burst, the release
// waits until quiet has passed without another collection.
func (r *releaser) collected() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if r.allocs()-r.since >= r.burst {
		if r.timer == nil {
			r.timer = time.AfterFunc(r.quiet, r.release)
		} else {
			r.timer.Reset(r.quiet)
		}
	}
	r.arm()
}

func (r *releaser) release() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	// Counted from now, so that what f does, and the collections whose
	// cleanups run at any time after, are no burst.
	r.since = r.allocs()
	r.mu.Unlock()
	r.f()
	releases.Add(1)
}
