package poll

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/gatherer/status"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
)

// Host is one connected host: the connection, and its reader, which
// receives answers and notices a dropped connection at once. On Linux the
// idle watcher (watch_linux.go) waits for all idle connections with one
// goroutine and starts readOne (read.go) when one has something to read;
// elsewhere (or without a watcher) each host has a reader goroutine
// (read).
type Host struct {
	id, nickname, addr string
	versions           map[string]string
	since              time.Time
	// fresh: a new node admitted under open, holding a place among
	// max_nodes until it is enrolled or its connection ends.
	fresh bool
	conn  *wire.Conn
	log   hclog.Logger

	// polled is the round waiting for this host's result, set before a
	// poll is written: whoever has the result first (the reader with the
	// answer, the end of the connection, the sender on a failed write,
	// the round at its deadline) takes it (deliver), so a round records
	// exactly one result per host.
	polled atomic.Pointer[pollWait]
	// over is set when the reader stops (and before the waiting round
	// is told); err says why.
	over    atomic.Bool
	err     error
	closeMu sync.Once
	// unwatch, once the idle watcher has the connection, takes it out
	// of the watcher; close calls it before closing the connection.
	unwatch atomic.Pointer[func()]
	// closed is set as soon as the gatherer closes the connection, so no
	// round polls it again while its reader winds down.
	closed atomic.Bool
	// announced is set when the host's first answer is in and its
	// connect line logged: a connection that never answers is only
	// counted, so a flood of them does not flood the log.
	announced atomic.Bool
	// pending is the id of the poll awaiting an answer, 0 if none: any
	// other answer is a protocol violation.
	pending atomic.Uint64
	// wmu serialises writes (polls from rounds, a refusal from the
	// reader or the control socket).
	wmu sync.Mutex
	// q are the gatherer's quotas and counters.
	q *quotas
	// track is what the status page knows of the node (status.Track).
	track *status.Track

	mu         sync.Mutex
	lastAnswer time.Time
	lastError  string
	polls      int64
}

// reply is one answer, stamped with its arrival time: the node's sample
// of it, as it goes to the outputs.
type reply struct {
	id     uint64
	at     time.Time
	sample sdk.NodeSample
	err    error
	// names and size are the answer's stats and bytes, for the status
	// page.
	names, size int
}

// ID is the host's node id.
func (h *Host) ID() string { return h.id }

// Status is the host as the status page shows it.
func (h *Host) Status() status.HostStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return status.HostStatus{ID: h.id, Nickname: h.nickname, Address: h.addr, Versions: h.versions, Since: h.since,
		LastAnswer: h.lastAnswer, LastError: h.lastError, Polls: h.polls}
}

// close ends the connection; the reader then stops.
func (h *Host) close() {
	h.closed.Store(true)
	h.closeMu.Do(func() {
		if stop := h.unwatch.Load(); stop != nil {
			(*stop)()
		}
		h.conn.NetConn().Close()
	})
}

// refuse tells the host why and closes the connection.
func (h *Host) refuse(reason string) {
	h.closed.Store(true)
	h.wmu.Lock()
	h.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
	h.conn.Send(wire.NewRefuse(reason))
	h.wmu.Unlock()
	h.close()
}

// tellTooLarge refuses an answer over the size quota: the refusal is
// sent, then the rest of the answer (the host is still writing it) is
// read and thrown away, within bounds, so that the host's write ends and
// it reads why, rather than a connection reset.
func (h *Host) tellTooLarge(reason string) {
	h.closed.Store(true)
	h.wmu.Lock()
	nc := h.conn.NetConn()
	nc.SetWriteDeadline(time.Now().Add(time.Second))
	h.conn.Send(wire.NewRefuse(reason))
	h.wmu.Unlock()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.CopyN(io.Discard, nc, discardLimit)
	h.close()
}

// discardLimit bounds what tellTooLarge reads and throws away.
const discardLimit = 64 << 20

// errDropped means the connection closed while waiting.
var errDropped = errors.New("connection closed")

// pollWait is a host's place in a round that waits for its result.
type pollWait struct {
	round *pollRound
	i     int
}

// deliver records r as the host's result for poll id (0: whichever
// round waits), if that round still waits for it and nothing else was
// delivered first; false means r was dropped.
func (h *Host) deliver(id uint64, r reply) bool {
	w := h.polled.Load()
	if w == nil || (id != 0 && w.round.id != id) || !h.polled.CompareAndSwap(w, nil) {
		return false
	}
	r.id = w.round.id
	w.round.put(w.i, r)
	return true
}

// ended tells the round waiting for h, if any, that its connection is
// over; it is called once the reader has stopped.
func (h *Host) ended() {
	h.over.Store(true)
	h.deliver(0, reply{err: h.droppedErr()})
}

// droppedErr is the result of a poll of a host whose connection ended.
func (h *Host) droppedErr() error {
	if h.err != nil {
		return fmt.Errorf("%w: %w", errDropped, h.err)
	}
	return errDropped
}

// send writes the poll of round w.round to the host, with the round's
// deadline for the write; the result comes later, by deliver. A host
// already closed, or a failed write, is delivered as a result at once.
func (h *Host) send(w *pollWait) {
	id := w.round.id
	h.polled.Store(w)
	if h.closed.Load() {
		h.deliver(id, reply{err: errDropped})
		return
	}
	h.pending.Store(id)
	if h.over.Load() {
		// The reader stopped before the round waited: ended told no one.
		h.deliver(id, reply{err: h.droppedErr()})
		return
	}
	h.wmu.Lock()
	nc := h.conn.NetConn()
	nc.SetWriteDeadline(w.round.deadline)
	err := h.conn.Send(w.round.poll)
	h.wmu.Unlock()
	if err != nil {
		h.deliver(id, reply{err: err})
	}
}
