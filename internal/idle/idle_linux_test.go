package idle

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// pairs returns n connected TCP pairs over loopback: the accepted side
// (the one watched, as the gatherer's) and the dialled side (the peer).
func pairs(t *testing.T, n int) (srv, peer []*net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range n {
		c, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		srv, peer = append(srv, s), append(peer, c)
	}
	return srv, peer
}

func newWatcher(t *testing.T) *Watcher {
	t.Helper()
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func fdOf(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestManyConnections: each message on each of many connections runs
// ready once, on the right connection, and every connection is watched
// again after it.
func TestManyConnections(t *testing.T) {
	t.Parallel()
	const n, msgs = 300, 3
	w := newWatcher(t)
	srv, peer := pairs(t, n)
	got := make(chan [2]int, n)
	var ended atomic.Int32
	for i, s := range srv {
		var b [1]byte
		wt, err := w.Watch(s, func() bool {
			if _, err := io.ReadFull(s, b[:]); err != nil {
				t.Errorf("connection %d: %v", i, err)
				return false
			}
			got <- [2]int{i, int(b[0])}
			return true
		}, func() { ended.Add(1) })
		if err != nil {
			t.Fatal(err)
		}
		defer wt.Stop() // before the cleanups close the connections
	}
	if w.Len() != n {
		t.Fatalf("Len() = %d, want %d", w.Len(), n)
	}
	for m := range msgs {
		for _, p := range peer {
			if _, err := p.Write([]byte{byte(m)}); err != nil {
				t.Fatal(err)
			}
		}
		seen := make([]bool, n)
		for range n {
			g := <-got
			if g[1] != m {
				t.Fatalf("connection %d read message %d in round %d", g[0], g[1], m)
			}
			if seen[g[0]] {
				t.Fatalf("connection %d read twice in round %d", g[0], m)
			}
			seen[g[0]] = true
		}
	}
	if ended.Load() != 0 {
		t.Errorf("%d watches ended", ended.Load())
	}
}

// TestPendingAndEOF: two messages sent at once run ready twice (a
// descriptor re-armed with bytes waiting is ready at once), and the
// peer's end of file runs it a third time; ready's false ends the watch.
func TestPendingAndEOF(t *testing.T) {
	t.Parallel()
	w := newWatcher(t)
	srv, peer := pairs(t, 1)
	s := srv[0]
	reads := make(chan error, 4)
	gone := make(chan struct{})
	var b [1]byte
	if _, err := w.Watch(s, func() bool {
		_, err := io.ReadFull(s, b[:])
		reads <- err
		return err == nil
	}, func() { close(gone) }); err != nil {
		t.Fatal(err)
	}
	peer[0].Write([]byte{1, 2})
	peer[0].Close()
	for i, want := range []error{nil, nil, io.EOF} {
		if err := <-reads; !errors.Is(err, want) {
			t.Fatalf("read %d: %v, want %v", i, err, want)
		}
	}
	<-gone
	if w.Len() != 0 {
		t.Errorf("Len() = %d after the watch ended", w.Len())
	}
}

// TestBytesBeforeWatch: bytes that came before the connection was
// watched (a peer that writes as soon as it is welcomed) run ready.
func TestBytesBeforeWatch(t *testing.T) {
	t.Parallel()
	w := newWatcher(t)
	srv, peer := pairs(t, 20)
	got := make(chan int, len(srv))
	for i := range srv {
		peer[i].Write([]byte{1})
	}
	for i, s := range srv {
		wt, err := w.Watch(s, func() bool { got <- i; return false }, func() {})
		if err != nil {
			t.Fatal(err)
		}
		defer wt.Stop()
	}
	for range srv {
		<-got
	}
}

// TestStopWhileArmed: Stop on an idle watch calls gone at once, removes
// the descriptor from epoll, and no ready follows, even with bytes sent.
func TestStopWhileArmed(t *testing.T) {
	t.Parallel()
	w := newWatcher(t)
	srv, peer := pairs(t, 2)
	var gone atomic.Int32
	wt, err := w.Watch(srv[0], func() bool { t.Error("ready after Stop"); return false }, func() { gone.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	wt.Stop()
	wt.Stop()
	if gone.Load() != 1 {
		t.Fatalf("gone called %d times, want 1", gone.Load())
	}
	if err := wt.ctl(unix.EPOLL_CTL_MOD); !errors.Is(err, unix.ENOENT) {
		t.Errorf("after Stop the descriptor is still in epoll: re-arming it gave %v, want ENOENT", err)
	}
	peer[0].Write([]byte{1})
	// A second connection's message is seen: the loop runs past the
	// stopped one's bytes.
	ok := make(chan struct{})
	if _, err := w.Watch(srv[1], func() bool { close(ok); return false }, func() {}); err != nil {
		t.Fatal(err)
	}
	peer[1].Write([]byte{1})
	<-ok
}

// TestStopRacesReadiness: a message and Stop at the same moment, many
// times: gone is called exactly once, and never before a ready that ran
// has returned.
func TestStopRacesReadiness(t *testing.T) {
	t.Parallel()
	const n = 200
	w := newWatcher(t)
	srv, peer := pairs(t, n)
	var wg sync.WaitGroup
	for i := range n {
		var mu sync.Mutex
		var events []string
		done := make(chan struct{})
		wt, err := w.Watch(srv[i], func() bool {
			var b [1]byte
			srv[i].Read(b[:])
			mu.Lock()
			events = append(events, "ready")
			mu.Unlock()
			return true
		}, func() {
			mu.Lock()
			events = append(events, "gone")
			mu.Unlock()
			close(done)
		})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			peer[i].Write([]byte{1})
			wt.Stop()
			<-done
			mu.Lock()
			defer mu.Unlock()
			if len(events) > 2 || events[len(events)-1] != "gone" || len(events) == 2 && events[0] != "ready" {
				t.Errorf("connection %d: %v, want [ready gone] or [gone]", i, events)
			}
		}()
	}
	wg.Wait()
}

// TestDescriptorReuse: a connection closed without Stop leaves epoll by
// itself; a new connection that gets its descriptor number is watched
// under its own token, and its events never reach the old watch.
func TestDescriptorReuse(t *testing.T) {
	w := newWatcher(t)
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() *net.TCPConn {
		c, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	oldPeer := dial()
	old, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	var oldGone atomic.Int32
	oldWatch, err := w.Watch(old, func() bool { t.Error("the closed connection's ready ran"); return true }, func() { oldGone.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	oldFD := fdOf(t, old)
	newPeer := dial() // its descriptor before old's is freed
	old.Close()       // no Stop: the kernel drops it from epoll
	cur, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if fd := fdOf(t, cur); fd != oldFD {
		t.Fatalf("the new connection got descriptor %d, not the old one's %d; the test needs the number reused", fd, oldFD)
	}
	got := make(chan byte, 1)
	if _, err := w.Watch(cur, func() bool {
		var b [1]byte
		io.ReadFull(cur, b[:])
		got <- b[0]
		return false
	}, func() {}); err != nil {
		t.Fatalf("watching a reused descriptor: %v", err)
	}
	oldPeer.Write([]byte{1})
	newPeer.Write([]byte{2})
	if b := <-got; b != 2 {
		t.Errorf("the new connection read %d, want 2", b)
	}
	oldWatch.Stop() // its descriptor is gone: nothing to remove, gone still called
	if oldGone.Load() != 1 {
		t.Errorf("gone called %d times for the closed connection, want 1", oldGone.Load())
	}
}

// TestClose: closing the Watcher ends the armed watches, and no
// connection can be watched after.
func TestClose(t *testing.T) {
	t.Parallel()
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := pairs(t, 3)
	var gone atomic.Int32
	for _, s := range srv[:2] {
		if _, err := w.Watch(s, func() bool { return true }, func() { gone.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if gone.Load() != 2 {
		t.Errorf("gone called %d times, want 2", gone.Load())
	}
	if _, err := w.Watch(srv[2], func() bool { return true }, func() {}); err == nil {
		t.Error("Watch after Close succeeded")
	}
}
