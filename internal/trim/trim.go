// Package trim gives back the memory a long-running statsherd process
// mapped while it started and does not use again.
//
// A Go binary such as statsherd (26 MB: every built-in plugin, gRPC, TLS,
// HCL) touches much of its code and constants while it starts: package
// initialisation, the TLS key and handshake, the first calls. The kernel
// keeps those pages mapped, and counts them in the process's resident set
// (VmRSS, RssFile), although they are clean pages of the executable's file,
// shared with every other statsherd process through the page cache. Once
// start-up is over, Executable unmaps them (madvise MADV_DONTNEED on the
// executable's read-only mappings); the pages stay in the page cache, and
// the few the process runs again come back with a minor fault at their next
// use (about 5 MB, once, for the first poll of the host's built-in
// producers). Writable mappings (data, heap) are never touched.
//
// The mappings are found by the device and inode of the file the process
// runs, not by its path: when an upgrade has put a new file at the path,
// the process goes on trimming its own, deleted, one.
//
// A poll maps pages again (TLS, gRPC, protobuf, the producers, the tables
// the runtime reads to grow and scan stacks), and the kernel's
// fault-around maps up to 16 cached pages around each fault, most of them
// never run: a poll of the host maps 7.5–10.5 MiB of the executable in
// each of its two processes, where it runs 3.0–3.6 MiB. The host and the process
// of its built-in producers call Polled after each poll, and a process so
// polled keeps what its polls run (docs/footprint.md, "The poll's
// executable pages"):
//
//   - its first trim, and the first after a Kick (a reload, a status
//     page), drops every page and splits its read-only mappings into one
//     mapping a page (fault-around never crosses a mapping);
//   - the next sparse poll (Polled) faults in exactly the pages it runs,
//     and its trim takes them as the hot set and merges the mappings back
//     (the trims before it, after start-up's polls close together, drop
//     every page again);
//   - every later trim drops only the pages mapped out of the hot set: a
//     poll faults only for code no poll before ran, and the process's
//     resident set stays at the hot set instead of rising by the poll's
//     9 MiB and falling back.
//
// A process never polled (the gatherer, an output) drops every page at
// each trim. Outside Linux nothing is done.
package trim

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Debounced trims once nothing has called Kick for a while, or soon after
// a poll that came long after the previous one (Polled): every page, or in
// a polled process the pages out of its polls' hot set (see the package
// doc).
type Debounced struct {
	quiet time.Duration
	// settle is how long after the last call of a sparse poll the trim
	// runs; window is how long after a poll's first call the calls that
	// follow are the same poll's.
	settle, window time.Duration
	log            hclog.Logger
	now            func() time.Time

	mu    sync.Mutex
	timer *time.Timer
	// lastPoll is the last Polled; pollStart the first Polled of the poll
	// it belongs to, and sparse whether that poll came quiet or more after
	// the one before.
	lastPoll, pollStart time.Time
	sparse              bool
	// kicked says a Kick came after the last trim: the next trim is
	// start-up's (or a reload's), and evicts (see full).
	kicked bool
	// trims is how many times it trimmed, fulls how many of them were
	// full; tmu serialises them (a timer reset while one runs could start
	// a second at once).
	trims, fulls atomic.Int32
	tmu          sync.Mutex
	// polled says a Polled came after the last trim, everPolled that one
	// ever came: the process is polled, and keeps its polls' pages (see
	// the package doc). rs is its mappings of the executable, as at the
	// last full trim; hot the set of pages the polls since then mapped,
	// nil until a full trim of a polled process; learned how many polls
	// hot holds, and learn how many it takes before the trims after polls
	// keep it and drop the rest.
	polled, everPolled bool
	// sparseTrim says the trim armed last follows a sparse poll: only
	// such a poll, the steady state's, makes the hot set (the polls of
	// start-up, close together, run code once that later polls do not).
	sparseTrim bool
	// cannotSplit says a split failed (the kernel's limit on a process's
	// mappings, vm.max_map_count): the process drops every page at each
	// trim from then on.
	cannotSplit    bool
	rs             []region
	hot            pageSet
	learned, learn int
}

// A sparse poll's trim follows its last call by settle: the calls of one
// poll (the host's concurrent calls to its built-in producers, the answer
// written back) come within a few milliseconds of each other, and within
// pollWindow of the first.
const (
	settle     = 20 * time.Millisecond
	pollWindow = time.Second
)

// NewDebounced returns a Debounced that trims quiet after the last Kick.
func NewDebounced(quiet time.Duration, log hclog.Logger) *Debounced {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Debounced{quiet: quiet, settle: settle, window: pollWindow, log: log, now: time.Now, learn: learnPolls}
}

// NewPolled returns a Debounced for a process a gatherer polls (the host,
// the process of its built-in producers): its first trim, start-up's,
// already splits its mappings, so that its first poll, whenever it comes,
// makes the hot set.
func NewPolled(quiet time.Duration, log hclog.Logger) *Debounced {
	d := NewDebounced(quiet, log)
	d.everPolled = true
	return d
}

// Kick says start-up work happened: the trim waits until quiet after it.
func (d *Debounced) Kick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kicked, d.sparseTrim = true, false
	d.after(d.quiet)
}

// Polled says a poll's call (or the poll as a whole) was answered. A poll
// that comes quiet or more after the previous one is trimmed settle after
// its last call, instead of quiet after: a timer as far off as quiet costs
// an idle Go process more than the trim itself (the runtime's monitor
// thread wakes at the timer's time and checks every 20 µs until the
// netpoller, which the kernel lets sleep 0.1 % longer than asked, runs it:
// about 10 ms of wake-ups for a 10 s timer), and the poll's pages go
// sooner. Polls closer together than quiet are left to Kick's debounce, as
// start-up is: a process polled often keeps its pages between polls rather
// than paying their faults at each.
func (d *Debounced) Polled() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.polled = true
	now := d.now()
	switch {
	case d.lastPoll.IsZero() || now.Sub(d.lastPoll) >= d.quiet:
		d.pollStart, d.sparse = now, true
	case now.Sub(d.pollStart) >= d.window:
		d.sparse = false
	}
	d.lastPoll = now
	d.sparseTrim = d.sparse
	if d.sparse {
		d.after(d.settle)
		return
	}
	d.after(d.quiet)
}

// after (re)arms the trim to run wait from now.
func (d *Debounced) after(wait time.Duration) {
	if d.timer != nil {
		d.timer.Reset(wait)
		return
	}
	d.timer = time.AfterFunc(wait, d.trim)
}

// learnPolls is how many polls after a full trim make the hot set: the
// second adds a few pages to the first's (0–10 of 760–880 measured), and
// each one more leaves the process's pages split for another interval.
const learnPolls = 1

// trim runs when the timer fires. The first trim, the first after a Kick,
// and every trim of a process never polled, drop every page (full); a
// polled process then learns the pages of its next learnPolls polls with
// its mappings split into pages, and from then on each trim drops only the
// pages out of that hot set.
func (d *Debounced) trim() {
	d.mu.Lock()
	kicked, polled, sparse := d.kicked, d.polled, d.sparseTrim
	d.kicked, d.polled = false, false
	d.mu.Unlock()
	d.tmu.Lock()
	defer d.tmu.Unlock()
	defer d.trims.Add(1)
	d.everPolled = d.everPolled || polled
	switch {
	case kicked || d.fulls.Load() == 0 || d.hot == nil:
		d.fulls.Add(1)
		d.hot, d.learned = nil, 0
		rs, err := regions()
		if err != nil {
			d.log.Debug("cannot find the executable's mappings", "error", err)
			return
		}
		n, err := drop(rs)
		if err != nil {
			d.log.Debug("cannot drop the pages of the executable", "error", err)
			return
		}
		if d.everPolled && !d.cannotSplit {
			if err := split(rs); err != nil {
				d.log.Debug("cannot split the executable's mappings", "error", err)
				merge(rs)
				d.cannotSplit = true
				return
			}
			d.rs, d.hot = rs, pageSet{}
		}
		d.log.Debug("dropped the pages of the executable", "mapped_bytes", n)
	case d.learned < d.learn && !sparse:
		// Start-up's polls, or polls close together: their pages go,
		// and the hot set waits for a sparse poll.
		if _, err := drop(d.rs); err != nil {
			d.log.Debug("cannot drop the pages of the executable", "error", err)
		}
	case d.learned < d.learn:
		m, err := mapped(d.rs)
		if err != nil {
			d.log.Debug("cannot read which pages of the executable a poll mapped", "error", err)
			return
		}
		d.hot.add(m)
		d.learned++
		if d.learned == d.learn {
			if err := merge(d.rs); err != nil {
				d.log.Debug("cannot merge the executable's mappings", "error", err)
			}
		}
		d.log.Debug("kept the pages of the executable a poll mapped", "pages", m.count(), "hot_pages", d.hot.count())
	default:
		n, err := keepOnly(d.rs, d.hot)
		if err != nil {
			d.log.Debug("cannot drop the pages of the executable a poll mapped", "error", err)
			return
		}
		d.log.Debug("dropped the pages of the executable out of the polls' set", "pages", n, "hot_pages", d.hot.count())
	}
}

// pageSet is a set of pages of the executable's read-only mappings: a
// bitmap of each mapping's pages, by the mapping's start.
type pageSet map[uintptr][]uint64

// count is how many pages s holds.
func (s pageSet) count() int {
	n := 0
	for _, b := range s {
		for _, w := range b {
			n += bits.OnesCount64(w)
		}
	}
	return n
}

// add puts the pages of o in s.
func (s pageSet) add(o pageSet) {
	for lo, b := range o {
		h := s[lo]
		if len(h) < len(b) {
			h = append(h, make([]uint64, len(b)-len(h))...)
		}
		for i, w := range b {
			h[i] |= w
		}
		s[lo] = h
	}
}

// region is one private mapping of this process's executable, [lo, hi),
// read-only (code and constants) or not (data).
type region struct {
	lo, hi uintptr
	ro     bool
}
