// Package gctune sets a daemon's GC percent (GOGC), or a memory limit
// (Limiter), from its live heap, after every collection.
//
// At a fixed GC percent the collector's headroom is a fixed share of the
// live heap. For the gatherer that share is the wrong trade at both ends:
// with 1,000 hosts its live heap is ≈ 20 MiB, and GOGC=50 kept 8–9 MiB of
// headroom that GOGC=10 gave back at no measurable CPU (a collection of
// 20 MiB is a few milliseconds; docs/footprint.md); with 10,000 hosts
// (≈ 200 MiB live) each collection costs a hundred times more, and
// GOGC=25 instead of 50 cost a third more CPU a round. A GC percent
// growing with the live heap keeps the collector's CPU per round small at
// every fleet size and the headroom small where the live heap is.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Scale is a GC percent rising with the live heap: Per bytes of live
// heap a point, between Min and Max.
type Scale struct {
	Min, Max int
	Per      uint64
}

// Percent is the GC percent for live bytes of live heap.
func (s Scale) Percent(live uint64) int {
	p := s.Max
	if s.Per > 0 && live/s.Per < uint64(s.Max) {
		p = int(live / s.Per)
	}
	return max(s.Min, p)
}

// Follow sets the GC percent to percent(live heap) now and after every
// garbage collection, until the returned stop is called. It costs nothing
// between collections: no timer, no goroutine of its own (the runtime's
// cleanup goroutine calls it).
func Follow(percent func(live uint64) int) (stop func()) {
	f := &follower{percent: percent, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}, set: -1}
	f.collected()
	return func() {
		f.mu.Lock()
		f.stopped = true
		f.mu.Unlock()
	}
}

type follower struct {
	percent func(uint64) int

	mu      sync.Mutex
	sample  []metrics.Sample
	set     int // the percent last set
	stopped bool
}

// collected runs after a collection (and at start): it sets the percent
// if it changed, and asks to be called after the next collection.
func (f *follower) collected() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	if p := f.percent(live); p != f.set {
		debug.SetGCPercent(p)
		f.set = p
	}
	// A sentinel nothing points to: the next collection frees it, and
	// the runtime then calls collected again. (64 bytes: not from the
	// tiny allocator, whose blocks are freed late.)
	runtime.AddCleanup(new([64]byte), (*follower).collected, f)
}
