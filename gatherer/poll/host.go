package poll

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/status"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// Host is one connected host: the connection, and its reader, which
// receives answers and notices a dropped connection at once. On Linux the
// idle watcher (watch_linux.go) waits for all idle connections
// with one goroutine and starts readOne when one has something to read;
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

// quotas are the limits on what a host sends, and where refusals are
// counted.
type quotas struct {
	maxStats int
	refusals *refusal.Tally
	// names decodes answers' stats, interning names fleet-wide.
	names daemon.StatsDecoder
	// frames are buffers answers are read into (*[]byte): an answer's
	// stats are copied out (the node's bytes, or decoded) before readOne
	// returns, so a few buffers serve every host in turn, rather than one
	// new buffer per host per round.
	frames sync.Pool
}

// maxPooledFrame bounds the buffers kept in quotas.frames: an answer of
// about 2,000 stats; larger ones are left to the collector.
const maxPooledFrame = 64 << 10

// frame returns a buffer to read an answer into.
func (q *quotas) frame() *[]byte {
	if fb, ok := q.frames.Get().(*[]byte); ok {
		return fb
	}
	return new([]byte)
}

// recycle gives back fb, holding b if b was read into it or replaced it.
func (q *quotas) recycle(fb *[]byte, b []byte) {
	if cap(b) > cap(*fb) {
		*fb = b[:0]
	}
	if cap(*fb) <= maxPooledFrame {
		q.frames.Put(fb)
	}
}

// errQuota is an answer refused for a quota; told says the host was told
// already (and the connection is being closed).
type errQuota struct {
	kind, reason string
	told         bool
}

func (e *errQuota) Error() string { return e.reason }

// read receives messages until the connection fails, on a goroutine of
// its own: where the gatherer has no idle watcher. Only the answer to the
// poll in flight is expected; anything else (an unsolicited answer, a
// wrong id, another kind of message) ends the connection and is counted,
// before the message is even decoded when no poll is in flight.
func (h *Host) read() {
	for {
		// Between polls the connection waits for bytes with nothing
		// read and on a shallow stack (readOne's frames are gone), which
		// the garbage collector shrinks: an idle host costs a small
		// goroutine stack, not a read in progress.
		if err := h.conn.WaitReadable(); err != nil {
			h.err = err
			h.close()
			return
		}
		if !h.readOne() {
			return
		}
	}
}

// errNotAsked is a message sent while no poll was in flight.
var errNotAsked = errors.New("answer sent while no poll was in flight")

// readOne receives one message and delivers the answer to the round
// waiting for it (deliver); false means the connection is ended.
//
//go:noinline
func (h *Host) readOne() bool {
	inFlight := func(int) error {
		if h.pending.Load() == 0 {
			return errNotAsked
		}
		return nil
	}
	fb := h.q.frame()
	b, err := h.conn.RecvFrameInto(*fb, inFlight)
	defer h.q.recycle(fb, b)
	if errors.Is(err, errNotAsked) {
		h.violation(errNotAsked.Error())
		return false
	}
	if err != nil {
		if errors.Is(err, wire.ErrTooLarge) {
			reason := fmt.Sprintf("answer over this gatherer's quota (max_message_size): %v; send fewer stats", err)
			h.q.refusals.Add(refusal.TooLarge, h.addr, h.id, reason, 1)
			q := &errQuota{kind: refusal.TooLarge, reason: reason, told: true}
			// The round goes on at once, while the rest is drained.
			if id := h.pending.Load(); id != 0 {
				h.deliver(id, reply{err: q})
			}
			h.tellTooLarge(reason)
			err = q
		}
		h.err = err
		h.close()
		return false
	}
	want := h.pending.Load()
	if want == 0 {
		h.violation(errNotAsked.Error())
		return false
	}
	a, err := h.decodeAnswer(b)
	if err != nil {
		h.violation(err.Error())
		return false
	}
	if a.ID != want {
		h.violation(fmt.Sprintf("answer with id %d to poll %d", a.ID, want))
		return false
	}
	h.pending.CompareAndSwap(want, 0)
	r := reply{id: a.ID, at: time.Now(), names: a.Names, size: len(b)}
	if a.Error == "" && a.Names > h.q.maxStats {
		reason := fmt.Sprintf("answer has %d stats, over this gatherer's quota of %d per node (max_stats_per_node); send fewer stats", a.Names, h.q.maxStats)
		h.q.refusals.Add(refusal.TooManyStats, h.addr, h.id, reason, 1)
		r.err = &errQuota{kind: refusal.TooManyStats, reason: reason}
	} else if a.Error != "" {
		r.err = errors.New(a.Error)
	} else {
		var invalid error
		var neg int
		r.sample, invalid, neg, err = h.q.sample(h.id, h.nickname, r.at, a.Stats)
		if err != nil {
			h.violation("decoding answer: " + err.Error())
			return false
		}
		if invalid != nil {
			// The valid part is kept; say what was dropped.
			h.q.refusals.Add(refusal.InvalidNames, h.addr, h.id, invalid.Error(), 1)
		}
		if neg > 0 {
			h.q.refusals.Add(refusal.Negative, h.addr, h.id, "counters are monotonic: negative values dropped", int64(neg))
		}
	}
	// The round waits for one result; an answer the round no longer
	// waits for (it timed out meanwhile) is dropped here.
	h.deliver(a.ID, r)
	return true
}

// sample makes a node's sample of the stats of its answer. Stats that
// need no change (the usual case: daemon.StatsDecoder.Canonical, and no
// negative counter) stay encoded as they came, copied once into the
// node's bytes for the outputs (daemon.EncodedSample), so the answer's frame
// can go and no maps are made. Others are decoded, with names interned
// fleet-wide; invalid names (invalid says which) and negative counters
// (neg counts them) are dropped, and the rest is encoded again when sent.
// A malformed encoding is an error.
func (q *quotas) sample(id, nickname string, at time.Time, stats []byte) (s sdk.NodeSample, invalid error, neg int, err error) {
	if n, ok := q.names.Canonical(stats); ok && n == 0 {
		return daemon.EncodedSample(id, nickname, at, stats), nil, 0, nil
	}
	st, err := q.names.Decode(stats)
	if errors.Is(err, daemon.ErrMalformed) {
		return sdk.NodeSample{}, nil, 0, err
	}
	neg = dropNegative(st.Counters)
	return sdk.NodeSample{ID: id, Nickname: nickname, Timestamp: at, Stats: st}, err, neg, nil
}

// decodeAnswer decodes a message that must be an answer, its stats left
// encoded.
func (h *Host) decodeAnswer(b []byte) (wire.RawAnswer, error) {
	a, ok, err := wire.DecodeAnswer(b)
	if err != nil || ok {
		return a, err
	}
	// Another kind of message, or an unusual encoding of an answer.
	m, err := wire.Decode(b)
	if err != nil {
		return a, err
	}
	pa := m.GetAnswer()
	if pa == nil {
		return a, fmt.Errorf("host sent %s where an answer was expected", wire.Kind(m))
	}
	st, err := gproto.Marshal(pa.GetStats())
	if err != nil {
		return a, fmt.Errorf("re-encoding answer: %w", err)
	}
	return wire.RawAnswer{ID: pa.Id, Error: pa.Error, Stats: st, Names: statCount(pa.Stats)}, nil
}

// violation ends a connection that broke the protocol, and counts it.
func (h *Host) violation(what string) {
	h.q.refusals.Add(refusal.Unsolicited, h.addr, h.id, what, 1)
	h.err = fmt.Errorf("protocol violation: %s", what)
	h.close()
}

// statCount is the number of counters and stats in p.
func statCount(p interface {
	GetCounterNames() []string
	GetIntNames() []string
	GetFloatNames() []string
	GetNullNames() []string
}) int {
	if p == nil {
		return 0
	}
	return len(p.GetCounterNames()) + len(p.GetIntNames()) + len(p.GetFloatNames()) + len(p.GetNullNames())
}

// dropNegative removes negative counters (counters only grow) and
// returns how many it removed.
func dropNegative(c map[string]int64) int {
	n := 0
	for k, v := range c {
		if v < 0 {
			delete(c, k)
			n++
		}
	}
	return n
}

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
