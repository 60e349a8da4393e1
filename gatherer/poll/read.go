package poll

import (
	"errors"
	"fmt"
	"time"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/internal/wire"
)

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
