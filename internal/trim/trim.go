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
// A poll maps pages again (TLS, gRPC, protobuf, the producers, the tables
// the runtime reads to grow and scan stacks): the host and the process of
// its built-in producers Kick after each poll too, so an idle host drops
// them again until the next (docs/footprint.md).
package trim

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Debounced calls Executable once nothing has called Kick for a while.
type Debounced struct {
	quiet time.Duration
	log   hclog.Logger

	mu    sync.Mutex
	timer *time.Timer
	trims atomic.Int32 // how many times it trimmed
}

// NewDebounced returns a Debounced that trims quiet after the last Kick.
func NewDebounced(quiet time.Duration, log hclog.Logger) *Debounced {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Debounced{quiet: quiet, log: log}
}

// Kick says start-up work happened: the trim waits until quiet after it.
func (d *Debounced) Kick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Reset(d.quiet)
		return
	}
	d.timer = time.AfterFunc(d.quiet, d.trim)
}

func (d *Debounced) trim() {
	d.trims.Add(1)
	n, err := Executable()
	if err != nil {
		d.log.Debug("cannot drop the start-up pages of the executable", "error", err)
		return
	}
	d.log.Debug("dropped the start-up pages of the executable", "mapped_bytes", n)
}
