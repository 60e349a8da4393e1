package graphite

import (
	"strconv"
	"time"

	"github.com/statsherd/statsherd/outputs/internal/queue"
	"github.com/statsherd/statsherd/sdk"
)

// encoder turns rounds into queue records: batches of at most batch
// lines of carbon's plaintext protocol, "path value timestamp\n".
type encoder struct {
	t     *template
	batch int

	raw  []byte // the batch being built
	n    int    // lines in raw
	recs []queue.Record
}

func newEncoder(t *template, batch int) *encoder {
	return &encoder{t: t, batch: max(batch, 1)}
}

// encode returns the round's records (valid until the next call), with
// the number of lines in them. Every line carries the round's time, in
// whole seconds (carbon's resolution); counters are their raw value,
// stats their value, unknown (null) stats no line.
func (e *encoder) encode(r *sdk.RoundNodes, now time.Time) ([]queue.Record, int) {
	ts := r.Time
	if ts.IsZero() {
		ts = now
	}
	ms := ts.UnixMilli()
	var stamp []byte
	stamp = append(stamp, ' ')
	stamp = strconv.AppendInt(stamp, ts.Unix(), 10)
	stamp = append(stamp, '\n')
	e.recs = e.recs[:0]
	e.raw, e.n = e.raw[:0], 0
	total := 0
	for n := range r.All() {
		pre, post := e.t.node(n.ID, n.Nickname)
		for name, v := range n.Stats.Counters {
			e.raw = e.t.appendPath(e.raw, pre, name, post)
			e.raw = append(e.raw, ' ')
			e.raw = strconv.AppendInt(e.raw, v, 10)
			e.line(stamp, ms)
			total++
		}
		for name, v := range n.Stats.Stats {
			var ok bool
			if i, isInt := v.Int64(); isInt {
				e.raw = e.t.appendPath(e.raw, pre, name, post)
				e.raw = append(e.raw, ' ')
				e.raw = strconv.AppendInt(e.raw, i, 10)
				ok = true
			} else if f, isFloat := v.Float64(); isFloat {
				e.raw = e.t.appendPath(e.raw, pre, name, post)
				e.raw = append(e.raw, ' ')
				e.raw = strconv.AppendFloat(e.raw, f, 'g', -1, 64)
				ok = true
			}
			if ok {
				e.line(stamp, ms)
				total++
			}
		}
	}
	e.flush(ms)
	for i := range e.recs {
		e.recs[i].Index, e.recs[i].Count = uint32(i), uint32(len(e.recs))
	}
	return e.recs, total
}

// line ends the line being built and starts a new batch when one is full.
func (e *encoder) line(stamp []byte, ms int64) {
	e.raw = append(e.raw, stamp...)
	e.n++
	if e.n >= e.batch {
		e.flush(ms)
	}
}

// flush makes the batch built so far a record.
func (e *encoder) flush(ms int64) {
	if e.n == 0 {
		return
	}
	body := make([]byte, len(e.raw))
	copy(body, e.raw)
	e.recs = append(e.recs, queue.Record{Round: ms, Samples: uint32(e.n), Body: body})
	e.raw, e.n = e.raw[:0], 0
}
