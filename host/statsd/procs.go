package statsd

import (
	"runtime"
	"sync"
	"time"
)

// procsQuiet is how long the host keeps all its Ps after the last full
// read batch before it goes back to one.
const procsQuiet = 45 * time.Second

// Procs runs the process at one P (GOMAXPROCS=1) while statsd is quiet and
// at all its Ps while a backlog waits on the socket. An idle host wakes up
// a few times a minute; with a second P each wake-up also woke a second
// thread to look for work, 0.5–1.7 ms of CPU a minute on 2 cores
// (docs/footprint.md). A read batch that comes back full says packets are
// queued in the kernel: the listener raises GOMAXPROCS at once, so that
// the collector and the host's other work run beside the reader, and
// lowers it after quiet without a full batch. The zero of *Procs (nil)
// leaves GOMAXPROCS alone.
//
// The same moments tell the process's collector (flood): a flood and its
// calm switch it between the plain GC percent and a memory limit that
// follows the live heap (gctune.Limiter).
type Procs struct {
	max, min int // GOMAXPROCS in a flood and when quiet; 0: left alone
	quiet    time.Duration
	flood    func(bool) // told when a flood starts (true) and calms; or nil

	mu     sync.Mutex
	raised bool
	last   time.Time // of the last full batch
	timer  *time.Timer
}

// procs is the process's Procs, used by every listener; nil until
// TuneProcs.
var procs *Procs

// TuneProcs lowers the process to one P, to be raised by the statsd
// listeners started after it when their traffic needs it. The caller
// leaves an operator's GOMAXPROCS alone by not calling it. restore puts
// back the GOMAXPROCS of before, for listeners started after it.
// Only Linux reads in batches (recvmmsg): elsewhere nothing would raise
// it, so the process keeps its Ps.
func TuneProcs() (restore func()) { return Tune(true, nil) }

// Tune is TuneProcs if setProcs, and tells flood (if not nil) when a
// flood starts and calms, for the listeners started after it.
func Tune(setProcs bool, flood func(bool)) (restore func()) {
	if runtime.GOOS != "linux" {
		return func() {}
	}
	was := runtime.GOMAXPROCS(0)
	var p *Procs
	if setProcs {
		p = newProcs(was, procsQuiet)
	}
	if flood != nil {
		if p == nil {
			p = &Procs{quiet: procsQuiet}
		}
		p.flood = flood
	}
	procs = p
	return func() {
		procs = nil
		if setProcs {
			runtime.GOMAXPROCS(was)
		}
	}
}

// newProcs sets GOMAXPROCS to 1 and returns the Procs that raises it back
// to max; nil if max is 1.
func newProcs(max int, quiet time.Duration) *Procs {
	if max <= 1 {
		return nil
	}
	runtime.GOMAXPROCS(1)
	return &Procs{max: max, min: 1, quiet: quiet}
}

// full records a full read batch: GOMAXPROCS goes to max if it is not
// there, and flood is told a flood started.
func (p *Procs) full() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = time.Now()
	if p.raised {
		return
	}
	p.raised = true
	if p.max > 0 {
		runtime.GOMAXPROCS(p.max)
	}
	if p.flood != nil {
		p.flood(true)
	}
	p.timer = time.AfterFunc(p.quiet, p.check)
}

// check lowers GOMAXPROCS once quiet has passed since the last full batch,
// or looks again when it will have.
func (p *Procs) check() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if wait := p.quiet - time.Since(p.last); wait > 0 {
		p.timer.Reset(wait)
		return
	}
	p.raised = false
	if p.min > 0 {
		runtime.GOMAXPROCS(p.min)
	}
	if p.flood != nil {
		p.flood(false)
	}
}
