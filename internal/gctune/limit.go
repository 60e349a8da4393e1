package gctune

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
)

// Limiter runs the collector with the GC percent off and a memory limit
// that follows the live heap, set after every collection, so that the
// heap grows between collections as far as a GC percent would let it,
// and no further.
//
// The point is what the runtime does not do then: with a GC percent set,
// it forces a collection every 2 minutes whatever the heap (its forcegc),
// and only the GC percent off stops that. In an idle host and its
// built-ins' process, polled once a minute, those forced collections are
// most of the collections, and cost 0.4–2.4 ms of CPU a minute
// (docs/footprint.md). A fixed limit would stop them too, but lets the
// heap grow to the limit, and a live heap past it makes the runtime
// collect continuously; the following limit keeps the heap goal a GC
// percent's, at every size of live heap.
//
// It gives way to the plain GC percent while Busy (a statsd flood, which
// collects often anyway) and while the live heap grows fast: by the time
// the callback after a collection raises the limit, a heap that is
// mostly new live objects is already over the goal the old limit gives,
// and the runtime starts the next collection at once. A live heap growing
// to 192 MiB took 39 collections so against 16 at GOGC=50
// (TestFollowLimitGrowingLiveHeap); the runtime's own GC percent sets the
// next goal as a collection ends.
type Limiter struct {
	percent int

	mu        sync.Mutex
	sample    []metrics.Sample
	busy      bool   // told by Busy
	growing   bool   // the live heap grew by more than growth at the last collection
	percentOn bool   // the GC percent is in force (busy or growing), not the limit
	live      uint64 // the live heap at the last collection
	stopped   bool
	cycle     uint64 // the collections counted at the last callback
	// what was in force before, for Stop
	prevPercent int
	prevLimit   int64
}

// The runtime/metrics names a Limiter reads after each collection.
var limitMetrics = []string{
	"/gc/heap/live:bytes",
	"/gc/scan/stack:bytes",
	"/gc/scan/globals:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/objects:bytes",
	"/gc/cycles/total:gc-cycles",
}

// Memory is what a Limiter reads after a collection, in bytes.
type Memory struct {
	Live, Stacks, Globals uint64 // what a GC percent's heap goal grows from
	Total, Released       uint64 // the memory limit counts Total - Released
	Free, Objects         uint64 // the heap's free (unreleased) memory and its objects
}

// heapMinimum is the runtime's smallest heap goal at GOGC=100; at a GC
// percent p it is p/100 of it.
const heapMinimum = 4 << 20

// Limit is the memory limit under which, with the GC percent off, the
// runtime's heap goal is the one the GC percent percent gives for m.
//
// The runtime counts against the limit all the memory it has mapped and
// not released (Total - Released), and takes as heap goal the limit less
// what is not heap (that memory less the heap's free memory and its
// objects: goroutine stacks, the runtime's metadata, the unused parts of
// spans) and less a headroom of 3 % of the goal, at least 1 MiB. So the
// limit is what is not heap, plus the GC percent's goal (the live heap
// plus percent % of the live heap, stacks and globals, at least
// percent % of 4 MiB), plus that headroom, plus a margin for the
// scavenger (below). Read by the callback after a
// collection, before the sweeper has freed every dead object, the objects
// still count some of the dead, which once freed count as not heap (as
// unused parts of spans): so the goal is the percent's or a little less,
// never more. Counting the live heap instead would err the other way: by
// the dead objects whose whole spans the sweeper frees, up to the goal
// again with large objects.
func Limit(m Memory, percent int) int64 {
	p := uint64(max(percent, 0))
	goal := max(m.Live+percentOf(m.Live+m.Stacks+m.Globals, p), percentOf(heapMinimum, p))
	mapped := m.Total - min(m.Released, m.Total)
	nonHeap := mapped - min(m.Free+m.Objects, mapped)
	headroom := max(goal/32, 1<<20) // 3.1 %, over the runtime's 3 % of the goal
	limit := nonHeap + goal + headroom
	if limit >= math.MaxInt64/20*19 || limit < nonHeap {
		return math.MaxInt64
	}
	// Under a limit the scavenger keeps 95 % of it: a limit of just what
	// the goal needs had it give back the heap's free pages every cycle,
	// for the next allocations to fault them in again (10–15 % more CPU
	// per statsd line at 200k lines/s, docs/footprint.md). The margin is
	// 5 % of what the heap needs (its goal and headroom), not of the
	// whole limit: it raises the runtime's heap goal by as much, and in a
	// small process most of what is not heap is the runtime's own
	// (metadata, the profiling buckets' table: 7–8 MiB mapped in an idle
	// host's processes), 5 % of which let each heap grow 0.4 MiB further
	// (docs/footprint.md, "The anonymous floor, fifth stop"). The
	// scavenger may then give back up to 5 % of the non-heap memory's
	// worth of free pages a cycle, 0.4 MiB at idle; where the heap is
	// most of the limit, as in a statsd flood, the margin is what it was.
	return int64(limit + scavengerMargin(goal+headroom))
}

// scavengerMargin is the 5 % of heap the limit leaves the scavenger: heap
// is 95 % of heap plus the margin.
func scavengerMargin(heap uint64) uint64 { return heap / 19 }

// percentOf is p % of x, without overflow.
func percentOf(x, p uint64) uint64 { return x/100*p + x%100*p/100 }

// FollowLimit turns the GC percent off and sets a memory limit that
// gives the heap goal of percent (see Limit), now and after every
// collection, until Stop. Like Follow it costs nothing between
// collections: no timer, no goroutine of its own.
func FollowLimit(percent int) *Limiter {
	l := &Limiter{percent: percent, sample: make([]metrics.Sample, len(limitMetrics))}
	for i, name := range limitMetrics {
		l.sample[i].Name = name
	}
	l.mu.Lock()
	l.live = l.read().Live
	l.cycle = l.sample[7].Value.Uint64()
	// The limit first: the GC percent off with no limit would let the
	// heap grow unbounded.
	l.prevLimit = l.setLimit()
	l.prevPercent = debug.SetGCPercent(-1)
	l.mu.Unlock()
	l.arm()
	return l
}

// TuneFromEnv is how the host and its built-ins' process set their
// collector: a Limiter following percent if the environment env sets
// neither GOGC nor GOMEMLIMIT; else the operator's settings win, and only
// a missing GOGC is set to percent (with the operator's GOMEMLIMIT). The
// Limiter is nil then (a nil Limiter's methods do nothing).
func TuneFromEnv(env []string, percent int) *Limiter {
	gogc, limit := EnvSets(env, "GOGC"), EnvSets(env, "GOMEMLIMIT")
	switch {
	case !gogc && !limit:
		return FollowLimit(percent)
	case !gogc:
		debug.SetGCPercent(percent)
	}
	return nil
}

// EnvSets says whether the environment env ("NAME=value" entries) sets
// the variable name: the runtime's variables an operator sets win over a
// daemon's own tuning.
func EnvSets(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// Busy switches to the plain GC percent (busy) or back to the following
// limit (not busy, unless the live heap grows).
func (l *Limiter) Busy(busy bool) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.busy = busy
	l.apply()
}

// apply puts in force the GC percent, if busy or growing, or else the
// following limit (l.mu held).
func (l *Limiter) apply() {
	on := l.busy || l.growing
	if on == l.percentOn {
		if !on {
			l.setLimit()
		}
		return
	}
	l.percentOn = on
	if on {
		debug.SetGCPercent(l.percent)
		debug.SetMemoryLimit(math.MaxInt64)
		return
	}
	// The limit first: the GC percent off with no limit would let the
	// heap grow unbounded.
	l.setLimit()
	debug.SetGCPercent(-1)
}

// growth is how much the live heap must grow from one collection to the
// next for the Limiter to give way to the GC percent: half the headroom
// the percent gave, and at least 4 MiB, so that the few hundred
// kilobytes of a poll in flight do not count.
func growth(live uint64, percent int) uint64 {
	return max(percentOf(live, uint64(max(percent, 0)))/2, 4<<20)
}

// Stop puts back the GC percent and the memory limit that were in force
// before FollowLimit, and stops following.
func (l *Limiter) Stop() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.stopped = true
	debug.SetGCPercent(l.prevPercent)
	debug.SetMemoryLimit(l.prevLimit)
}

// read is the memory now (l.mu held).
func (l *Limiter) read() Memory {
	metrics.Read(l.sample)
	v := make([]uint64, len(l.sample))
	for i, s := range l.sample {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	return Memory{Live: v[0], Stacks: v[1], Globals: v[2], Total: v[3], Released: v[4], Free: v[5], Objects: v[6]}
}

// setLimit sets the limit from the memory now, and returns the limit in
// force before (l.mu held).
func (l *Limiter) setLimit() int64 {
	return debug.SetMemoryLimit(Limit(l.read(), l.percent))
}

// collected runs after each collection (see Follow).
func (l *Limiter) collected() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	metrics.Read(l.sample)
	l.observe(l.sample[7].Value.Uint64(), l.sample[0].Value.Uint64())
	l.arm()
}

// observe takes the live heap after collection number cycle, once a
// collection: the growth is from one collection to the next (l.mu held).
func (l *Limiter) observe(cycle, live uint64) {
	if cycle == l.cycle {
		return
	}
	l.cycle = cycle
	l.growing = live > l.live+growth(l.live, l.percent)
	l.live = live
	l.apply()
}

func (l *Limiter) arm() {
	runtime.AddCleanup(new([64]byte), (*Limiter).collected, l)
}
