package poll

import (
	"errors"
	"net"
	"syscall"

	"github.com/statsherd/statsherd/internal/idle"
)

// idleWatcher waits for every idle host connection at once, with one
// epoll instance and one goroutine (internal/idle): a host's connection
// has a goroutine only while a message is read, not between polls.
type idleWatcher struct{ w *idle.Watcher }

func newIdleWatcher() (*idleWatcher, error) {
	w, err := idle.New()
	if err != nil {
		return nil, err
	}
	return &idleWatcher{w}, nil
}

// watch hands h's connection to the watcher: each message is read by
// readOne on a goroutine of its own, and ended runs once, when the
// connection is over and nothing reads it any more. An error means h was
// not taken: the caller reads it itself.
func (iw *idleWatcher) watch(h *Host, ended func()) error {
	if iw == nil {
		return errors.New("no idle watcher")
	}
	nc := h.conn.NetConn()
	if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = t.NetConn() // the socket under TLS
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return errors.New("not a socket")
	}
	wt, err := iw.w.Watch(sc, h.readOne, ended)
	if err != nil {
		return err
	}
	stop := wt.Stop
	h.unwatch.Store(&stop)
	// Closed meanwhile, before close could see the watch: stop it here
	// (Stop runs at most once).
	if h.closed.Load() {
		wt.Stop()
	}
	return nil
}

func (iw *idleWatcher) close() {
	if iw != nil {
		iw.w.Close()
	}
}
