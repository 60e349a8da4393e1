package sdk

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/statsherd/statsherd/sdk/internal/codec"
)

// NodeWriter is an optional interface of an Output: one that takes a
// round node by node, as the nodes are decoded, instead of as a whole
// Round. An output that folds each node into a model of its own (the
// latest sample of every node, a page rendered once per round) then never
// holds the decoded round, only its model: at 10,000 nodes × 100 stats a
// Round's maps are some 40 MB.
//
// When an Output is a NodeWriter, WriteNodes is called for every round
// instead of Write, with the same lifecycle and guarantees as Write
// (after Configure, once per round, never concurrently with itself, under
// a deadline carried by ctx). Write must still be implemented, for a
// daemon or a test that hands the output a Round; it is usually
// `return o.WriteNodes(ctx, sdk.NodesOf(round))`.
//
// The round has been checked whole before WriteNodes is called: a round
// that is malformed, or that carries an invalid name, fails the Write
// before the output sees any of it (as with Write), so an output never
// sees part of a round it is then told was bad.
type NodeWriter interface {
	WriteNodes(ctx context.Context, round *RoundNodes) error
}

// RoundNodes is one poll round handed to a NodeWriter node by node. It
// is valid only during the WriteNodes call it is given to.
type RoundNodes struct {
	// Time is the round's time, as Round.Time.
	Time time.Time

	n     int
	all   iter.Seq[*NodeSample]
	lists iter.Seq2[*NodeSample, *NodeLists]
	done  bool
}

// NodeLists is one node's stats as lists, in the order they were sent
// (no set order: an encoder reads the maps; for a round made by NodesOf,
// the maps' order): the counters' names and values, and the stats' names
// and values. Names are valid (a
// round with invalid ones is refused before WriteNodes). A name may come
// twice in a list where its Stats map would keep the last value; an
// output taking lists keeps the last too.
type NodeLists struct {
	CounterNames []string
	Counters     []int64
	StatNames    []string
	Stats        []Value
}

// reset empties l, keeping its arrays.
func (l *NodeLists) reset() {
	l.CounterNames, l.Counters = l.CounterNames[:0], l.Counters[:0]
	l.StatNames, l.Stats = l.StatNames[:0], l.Stats[:0]
}

// Len returns the number of nodes in the round.
func (r *RoundNodes) Len() int { return r.n }

// All returns the round's nodes, in the round's order. Each node handed
// to the loop body is valid only until the body returns: the next node
// reuses it, and its Stats maps, which are cleared and refilled. So an
// output copies what it keeps (the strings themselves, the node's ID,
// Nickname and stat names, are immutable and may be kept as they are),
// and neither modifies nor retains the NodeSample or its maps. Breaking
// out of the loop stops the decoding; ranging over All again decodes the
// round again. After WriteNodes returns, All yields nothing.
func (r *RoundNodes) All() iter.Seq[*NodeSample] {
	return func(yield func(*NodeSample) bool) {
		if !r.done {
			r.all(yield)
		}
	}
}

// Lists is All, but each node's stats come in a NodeLists, and the
// node's Stats maps are left empty: for an output that folds each node
// into a model of its own in one pass over its stats, without the maps
// (the munin output). The same rules hold for both the node and the
// lists: valid until the loop body returns, not to be modified or
// retained (the strings may be kept).
func (r *RoundNodes) Lists() iter.Seq2[*NodeSample, *NodeLists] {
	return func(yield func(*NodeSample, *NodeLists) bool) {
		if !r.done {
			r.lists(yield)
		}
	}
}

// NodesOf returns r as a RoundNodes, handing out its own NodeSamples (not
// to be modified): for an output's Write to call its WriteNodes, and for
// tests.
func NodesOf(r Round) *RoundNodes {
	return &RoundNodes{Time: r.Time, n: len(r.Nodes), all: func(yield func(*NodeSample) bool) {
		for i := range r.Nodes {
			if !yield(&r.Nodes[i]) {
				return
			}
		}
	}, lists: func(yield func(*NodeSample, *NodeLists) bool) {
		var ns NodeSample
		var l NodeLists
		for i := range r.Nodes {
			ns = r.Nodes[i]
			ns.Stats = Stats{}
			listsOf(&l, r.Nodes[i].Stats)
			if !yield(&ns, &l) {
				return
			}
		}
	}}
}

// listsOf sets l to st's stats.
func listsOf(l *NodeLists, st Stats) {
	l.reset()
	for k, v := range st.Counters {
		l.CounterNames, l.Counters = append(l.CounterNames, k), append(l.Counters, v)
	}
	for k, v := range st.Stats {
		l.StatNames, l.Stats = append(l.StatNames, k), append(l.Stats, v)
	}
}

// errStopped is a node loop's body breaking out of it.
var errStopped = errors.New("stopped")

// writeNodes hands the encoded WriteRequest in to w node by node, after
// checking it whole: a round decode would refuse is refused with
// decode's error, and w is not called.
func (d *roundDecoder) writeNodes(ctx context.Context, in codec.Raw, w NodeWriter) error {
	d.Lock()
	defer d.Unlock()
	defer d.EndRound()
	t, n, err := d.check(in)
	if errors.Is(err, codec.ErrFallback) {
		in = in.Joined()
		t, n, err = d.check(in)
	}
	if err != nil {
		return err
	}
	if d.ns.Stats.Counters == nil {
		d.ns.Stats = NewStats()
	}
	var streamErr error
	r := &RoundNodes{Time: t, n: n}
	r.all = func(yield func(*NodeSample) bool) {
		if err := d.stream(in, &d.ns, yield); err != nil && !errors.Is(err, errStopped) && streamErr == nil {
			streamErr = err
		}
	}
	r.lists = func(yield func(*NodeSample, *NodeLists) bool) {
		if err := d.streamLists(in, &d.ns, yield); err != nil && !errors.Is(err, errStopped) && streamErr == nil {
			streamErr = err
		}
	}
	err = w.WriteNodes(ctx, r)
	r.done = true
	d.ns = NodeSample{Stats: d.ns.Stats} // no strings kept past the round
	clear(d.lists.CounterNames[:cap(d.lists.CounterNames)])
	clear(d.lists.StatNames[:cap(d.lists.StatNames)])
	d.lists.reset()
	clear(d.ns.Stats.Counters)
	clear(d.ns.Stats.Stats)
	if streamErr != nil {
		// The round was checked: the same bytes cannot fail now.
		return errors.Join(streamErr, err)
	}
	return err
}

// check returns the error decode would for in (or codec.ErrFallback), and the round's time and
// number of nodes, without building the round.
func (d *roundDecoder) check(in codec.Raw) (time.Time, int, error) {
	var t time.Time
	var firstErr error
	n := 0
	err := d.Each(in, &t, func(i int, v []byte) error {
		ns, stats, err := d.Header(v)
		if err == nil {
			if err = d.Scan(stats); err == nil {
				err = d.Scanned()
			}
		}
		if errors.Is(err, codec.ErrMalformed) {
			return codec.NodeErr(i, err)
		}
		if err != nil && firstErr == nil {
			firstErr = codec.NamedNodeErr(ns.ID, err)
		}
		n++
		return nil
	})
	if err != nil {
		return time.Time{}, 0, err
	}
	return t, n, firstErr
}

// stream decodes in's nodes one after the other into ns, reusing its
// maps, and hands each to yield. in is one that check accepted, so it
// does not fall back.
func (d *roundDecoder) stream(in codec.Raw, ns *NodeSample, yield func(*NodeSample) bool) error {
	return d.each(in, ns, func() error {
		clear(ns.Stats.Counters)
		clear(ns.Stats.Stats)
		return d.Fill(ns.Stats)
	}, func() bool { return yield(ns) })
}

// each decodes in's nodes one after the other: each node's header into
// ns, its stats scanned and then put where fill puts them; then yield.
func (d *roundDecoder) each(in codec.Raw, ns *NodeSample, fill func() error, yield func() bool) error {
	var t time.Time
	return d.Each(in, &t, func(i int, v []byte) error {
		h, stats, err := d.Header(v)
		if err == nil {
			err = d.Scan(stats)
		}
		if err == nil {
			err = fill()
		}
		if err != nil {
			return codec.NodeErr(i, err)
		}
		ns.ID, ns.Nickname, ns.Timestamp = h.ID, h.Nickname, h.Timestamp
		if !yield() {
			return errStopped
		}
		return nil
	})
}

// streamLists is stream for Lists: each node's stats into d.lists, its
// maps left empty.
func (d *roundDecoder) streamLists(in codec.Raw, ns *NodeSample, yield func(*NodeSample, *NodeLists) bool) error {
	clear(ns.Stats.Counters)
	clear(ns.Stats.Stats)
	l := &d.lists
	return d.each(in, ns, func() error {
		l.reset()
		var err error
		l.CounterNames, l.Counters, l.StatNames, l.Stats, err = d.AppendLists(l.CounterNames, l.Counters, l.StatNames, l.Stats)
		return err
	}, func() bool { return yield(ns, l) })
}
