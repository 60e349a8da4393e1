package idle

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Watcher watches connections for readability with one epoll instance
// and one goroutine. The epoll instance is itself waited on through Go's
// poller, so that goroutine holds no thread while nothing happens.
type Watcher struct {
	ep   *os.File        // the epoll instance
	epRC syscall.RawConn // ep's descriptor, used only while held open
	done chan struct{}   // closed when the loop has returned

	mu      sync.Mutex
	watches map[uint64]*Watch // by token: events carry a token, never a descriptor
	next    uint64
	closed  bool
}

// Watch is one connection watched by a Watcher.
type Watch struct {
	w     *Watcher
	token uint64
	rc    syscall.RawConn
	ready func() bool
	gone  func()
	state atomic.Int32
}

// The states of a Watch. Exactly one party moves a Watch out of armed:
// the loop (to running, and runs ready) or Stop (to stopped, and calls
// gone). A running Watch is ended by its own goroutine.
const (
	armed   int32 = iota + 1 // in epoll, waiting for readiness
	running                  // ready is running; out of epoll (one-shot)
	stopped                  // over; gone called or about to be
)

// events are the readiness a Watch waits for: bytes, the peer's end of
// file (EPOLLRDHUP), and (always reported) errors and hangups. One-shot:
// after one event the descriptor stays out of play until re-armed, so
// ready never runs twice at once.
const events = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// New starts a Watcher. Close it when done.
func New() (*Watcher, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating an epoll instance: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("making the epoll instance non-blocking: %w", err)
	}
	// Non-blocking, so os.NewFile hands it to Go's poller.
	ep := os.NewFile(uintptr(fd), "epoll")
	rc, err := ep.SyscallConn()
	if err != nil {
		ep.Close()
		return nil, fmt.Errorf("epoll instance: %w", err)
	}
	w := &Watcher{ep: ep, epRC: rc, done: make(chan struct{}), watches: map[uint64]*Watch{}}
	go w.loop()
	return w, nil
}

// Watch watches c until Stop. Whenever c has something to read (bytes,
// end of file or an error), ready is called on a new goroutine; if it
// returns true, c is watched again (bytes already waiting count), else
// the watch ends. gone is called exactly once when the watch is over:
// after ready returns false, or when Stop is called, by Stop if ready is
// not running, else on ready's goroutine once it returns.
//
// Bytes that a layer above the socket has buffered (a TLS record read
// whole) are not seen: watch only while the peer has no reason to have
// sent more than was read.
func (w *Watcher) Watch(c syscall.Conn, ready func() bool, gone func()) (*Watch, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("watching a connection: %w", err)
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil, errors.New("watching a connection: the watcher is closed")
	}
	w.next++
	wt := &Watch{w: w, token: w.next, rc: rc, ready: ready, gone: gone}
	wt.state.Store(armed)
	// Added under the lock, so that Close cannot stop it half added.
	if err := wt.ctl(unix.EPOLL_CTL_ADD); err != nil {
		w.mu.Unlock()
		return nil, fmt.Errorf("watching a connection: %w", err)
	}
	w.watches[wt.token] = wt
	w.mu.Unlock()
	return wt, nil
}

// Stop ends the watch: c leaves the epoll instance at once, and no ready
// starts after Stop returns. Call it before closing c (a descriptor that
// is closed leaves the epoll instance by itself, but gone would never be
// called). It may be called more than once, from any goroutine,
// including from ready.
func (wt *Watch) Stop() {
	prev := wt.state.Swap(stopped)
	if prev == stopped {
		return
	}
	wt.ctl(unix.EPOLL_CTL_DEL)
	wt.w.forget(wt)
	if prev == armed {
		wt.gone()
	}
	// running: ready's goroutine sees stopped and calls gone.
}

// run is one readiness: ready, then watch again or end.
func (wt *Watch) run() {
	if wt.ready() && wt.state.CompareAndSwap(running, armed) {
		if wt.ctl(unix.EPOLL_CTL_MOD) == nil {
			return
		}
		// Not watched again (c closed without Stop): end it, unless
		// Stop just did.
		if !wt.state.CompareAndSwap(armed, stopped) {
			return
		}
	}
	wt.state.Store(stopped)
	wt.ctl(unix.EPOLL_CTL_DEL)
	wt.w.forget(wt)
	wt.gone()
}

// ctl adds, re-arms or removes c in the epoll instance. Both descriptors
// are used inside Control, which holds them open: a descriptor closed
// meanwhile is an error here, never another file that reused its number.
func (wt *Watch) ctl(op int) error {
	var err, eperr error
	cerr := wt.rc.Control(func(fd uintptr) {
		eperr = wt.w.epRC.Control(func(ep uintptr) {
			ev := unix.EpollEvent{Events: events, Fd: int32(uint32(wt.token)), Pad: int32(uint32(wt.token >> 32))}
			err = unix.EpollCtl(int(ep), op, int(fd), &ev)
		})
	})
	return errors.Join(cerr, eperr, err)
}

func (w *Watcher) forget(wt *Watch) {
	w.mu.Lock()
	if w.watches[wt.token] == wt {
		delete(w.watches, wt.token)
	}
	w.mu.Unlock()
}

// loop waits for events and starts ready for each armed watch. An event
// whose token is no longer watched (stopped while the event was on its
// way) is dropped.
func (w *Watcher) loop() {
	defer close(w.done)
	evs := make([]unix.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := w.epRC.Read(func(ep uintptr) bool {
			for {
				n, werr = unix.EpollWait(int(ep), evs, 0)
				if werr != unix.EINTR {
					break
				}
			}
			return n > 0 || werr != nil
		})
		if err != nil || werr != nil {
			return // closed
		}
		w.mu.Lock()
		for i := range evs[:n] {
			token := uint64(uint32(evs[i].Fd)) | uint64(uint32(evs[i].Pad))<<32
			wt := w.watches[token]
			if wt != nil && wt.state.CompareAndSwap(armed, running) {
				go wt.run()
			}
		}
		w.mu.Unlock()
	}
}

// Close stops the Watcher. Watches still armed end (gone is called);
// a ready that is running finishes, and its connection is not watched
// again.
func (w *Watcher) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	left := make([]*Watch, 0, len(w.watches))
	for _, wt := range w.watches {
		left = append(left, wt)
	}
	w.mu.Unlock()
	for _, wt := range left {
		wt.Stop()
	}
	err := w.ep.Close()
	<-w.done
	return err
}

// Len is the number of connections watched (armed or being read).
func (w *Watcher) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.watches)
}
