package snapshot

import (
	"bytes"
	"fmt"
	"math"
	"strconv"

	"github.com/statsherd/statsherd/sdk/stat"
)

// This file is the reader of the statsherd-munin plugin: lenient where
// Parse is strict, and keeping only what the graphs drawn need.

// Want names one value Read keeps: a counter or a stat.
type Want struct {
	Category Category
	Name     string
}

// Number is one value Read kept, as the file wrote it.
type Number struct {
	// Tok is the JSON number token, e.g. "12", "0.5" or
	// "18446744073709551616"; "" when the value is unknown: null, Python's
	// NaN or infinities, or a value that is not a number at all.
	Tok string
	// Has is set when the node has the value, known or not.
	Has bool
}

// AppendMunin appends n as a munin value. An integer is printed exactly as
// written, however large (rrdtool refuses a non-integer on a DERIVE or
// COUNTER source, so 2^64 must not become 1.8446744073709552e+19); a float
// in its shortest form; an unknown value, or a float out of range, as "U".
func (n Number) AppendMunin(b []byte) []byte {
	t := n.Tok
	switch {
	case t == "":
		return append(b, 'U')
	case t == "-0":
		return append(b, '0')
	case isIntToken(t):
		return append(b, t...)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return append(b, 'U') // ±Inf: out of range
	}
	return stat.AppendFloat(b, f)
}

func isIntToken(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// Sample is one node as Read keeps it.
type Sample struct {
	ID, Nickname string
	// Timestamp is when the gatherer last heard from the node, seconds
	// since the epoch; 0 when the file had none.
	Timestamp float64
	// Values holds one Number per Want, in the order of the wants.
	Values []Number
}

// ProblemKind is a kind of problem Read skipped over.
type ProblemKind uint8

// The problems Read skips over. Each costs as little as it can.
const (
	// BadValue: a wanted value is a boolean, string, array or object; it
	// reads as unknown.
	BadValue ProblemKind = iota
	// BadCategory: "counters" or "stats" is not an object (null, say); the
	// node has no values of that category.
	BadCategory
	// BadNode: a node is not an object, or its nickname is not a string,
	// its timestamp not a number, its "stats" not an object; the node is
	// skipped.
	BadNode
	numProblemKinds
)

func (k ProblemKind) String() string {
	switch k {
	case BadValue:
		return "values that are not numbers or null, read as unknown"
	case BadCategory:
		return "counters or stats that are not objects, skipped"
	}
	return "malformed nodes, skipped"
}

// Problem summarises one kind of problem of a snapshot: how often it
// occurred and where it first did.
type Problem struct {
	Kind  ProblemKind
	Count int
	// First describes the first occurrence, with its place:
	// `line 3, column 17: node "abc": stats "x" is a string`.
	First string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: %d; the first at %s", p.Kind, p.Count, p.First)
}

// Reading is what Read kept of a snapshot.
type Reading struct {
	// Samples holds the good nodes, in no particular order, each id once.
	Samples []Sample
	// Problems holds one summary per kind of problem met, in kind order.
	Problems []Problem
}

// byteOrderMark is UTF-8's, which some editors put at the start of a file.
var byteOrderMark = []byte("\xef\xbb\xbf")

// Read reads a snapshot for the munin plugin, keeping every node's id,
// nickname and timestamp and the values wants names.
//
// Unlike Parse, it makes the best of a snapshot with wrong types in it: a
// wanted value that is not a number or null reads as unknown, a counters or
// stats object that is not one leaves the node without those values, and
// a malformed node is skipped; each kind is summarised in Problems. Values
// not wanted are checked as JSON and skipped, whatever their type. A
// UTF-8 byte-order mark at the start is accepted. What is not JSON, or not
// an object at its top level, is a *SyntaxError. Where a node id appears
// twice, the last good entry wins.
func Read(data []byte, wants []Want) (*Reading, error) {
	r := &reader{parser: parser{data: data}, nwant: len(wants)}
	r.index(wants)
	if bytes.HasPrefix(data, byteOrderMark) {
		r.pos = len(byteOrderMark)
	}
	if err := r.snapshot(); err != nil {
		return nil, r.syntaxError(err)
	}
	out := &Reading{Samples: r.samples}
	for k, p := range r.problems {
		if p.Count > 0 {
			p.Kind = ProblemKind(k)
			out.Problems = append(out.Problems, p)
		}
	}
	return out, nil
}

type reader struct {
	parser
	nwant int
	// byLen[c][len] lists the wants of category c whose name has that
	// length, with their index: most keys are rejected by their length
	// alone, the rest by one comparison or two.
	byLen    [2]map[int][]wantIndex
	samples  []Sample
	seen     map[string]int // id → index in samples
	problems [numProblemKinds]Problem
	// node is the node being read; bad says why it will be skipped.
	node Sample
	bad  string
}

type wantIndex struct {
	name string
	i    int
}

func (r *reader) index(wants []Want) {
	for c := range r.byLen {
		r.byLen[c] = map[int][]wantIndex{}
	}
	for i, w := range wants {
		if w.Category > Stats {
			continue
		}
		m := r.byLen[w.Category]
		m[len(w.Name)] = append(m[len(w.Name)], wantIndex{w.Name, i})
	}
}

// want returns the index of the wanted value of category c named name, or -1.
func (r *reader) want(c Category, name []byte) int {
	for _, w := range r.byLen[c][len(name)] {
		if w.name == string(name) {
			return w.i
		}
	}
	return -1
}

// problem counts a problem at the current position.
func (r *reader) problem(k ProblemKind, format string, args ...any) {
	p := &r.problems[k]
	p.Count++
	if p.Count == 1 {
		e := r.syntaxError(r.errf(format, args...)).(*SyntaxError)
		p.First = e.Error()
	}
}

func (r *reader) snapshot() error {
	r.ws()
	if r.peek() != '{' {
		return r.errf("a snapshot is a JSON object of node id to node, found %s", r.what())
	}
	r.seen = map[string]int{}
	err := r.object(func(id string) error { return r.readNode(id) })
	if err != nil {
		return err
	}
	r.ws()
	if r.pos < len(r.data) {
		return r.errf("%s after the end of the snapshot", r.what())
	}
	return nil
}

func (r *reader) readNode(id string) error {
	if r.peek() != '{' {
		r.problem(BadNode, "node %q is %s, not an object with timestamp, nickname and stats", id, r.what())
		return r.skip(0)
	}
	r.node = Sample{ID: id}
	if r.nwant > 0 {
		r.node.Values = make([]Number, r.nwant)
	}
	r.bad = ""
	err := r.object(func(key string) error {
		switch key {
		case "timestamp":
			return r.timestamp()
		case "nickname":
			return r.nickname()
		case "stats":
			if r.peek() != '{' {
				r.badNode("stats is %s, not an object with counters and stats", r.what())
				return r.skip(0)
			}
			return r.object(func(key string) error {
				c, ok := ParseCategory(key)
				if !ok {
					return r.skip(0)
				}
				return r.values(c)
			})
		}
		return r.skip(0)
	})
	if err != nil {
		return err
	}
	if r.bad != "" {
		return nil
	}
	if i, ok := r.seen[id]; ok {
		r.samples[i] = r.node
	} else {
		r.seen[id] = len(r.samples)
		r.samples = append(r.samples, r.node)
	}
	return nil
}

// badNode marks the node being read as malformed, counting it once.
func (r *reader) badNode(format string, args ...any) {
	if r.bad != "" {
		return
	}
	r.bad = fmt.Sprintf(format, args...)
	r.problem(BadNode, "node %q: %s", r.node.ID, r.bad)
}

func (r *reader) timestamp() error {
	switch r.peek() {
	case 'n', 'N', 'I', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		start := r.pos
		if _, err := r.value(false); err != nil {
			return fmt.Errorf("node %q: timestamp: %w", r.node.ID, err)
		}
		// null, NaN, infinities: no time, so the node is always stale.
		if tok := r.data[start:r.pos]; isNumberToken(tok) {
			if f, err := strconv.ParseFloat(string(tok), 64); err == nil && !math.IsInf(f, 0) {
				r.node.Timestamp = f
			}
		}
		return nil
	}
	r.badNode("timestamp is %s, not a number", r.what())
	return r.skip(0)
}

// isNumberToken tells a JSON number token from null, NaN and infinities.
func isNumberToken(tok []byte) bool {
	return len(tok) > 0 && (tok[0] >= '0' && tok[0] <= '9' || tok[0] == '-' && len(tok) > 1 && tok[1] != 'I')
}

func (r *reader) nickname() error {
	switch r.peek() {
	case '"':
		s, err := r.str()
		r.node.Nickname = s
		return err
	case 'n':
		return r.literal("null")
	}
	r.badNode("nickname is %s, not a string", r.what())
	return r.skip(0)
}

// values reads a counters or stats object, keeping the wanted values. It
// is the reader's inner loop: most of a snapshot's bytes are here.
func (r *reader) values(c Category) error {
	if r.peek() != '{' {
		r.problem(BadCategory, "node %q: %s is %s, not an object of name to number", r.node.ID, c, r.what())
		return r.skip(0)
	}
	return r.objectRaw(func(raw []byte, simple bool) error {
		var i int
		if simple {
			i = r.want(c, raw)
		} else {
			name, err := decodeString(raw)
			if err != nil {
				return r.errf("%v", err)
			}
			raw = []byte(name)
			i = r.want(c, raw)
		}
		if i < 0 {
			return r.skipValue()
		}
		switch r.peek() {
		case 'n', 'N', 'I', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			start := r.pos
			if _, err := r.value(false); err != nil {
				return fmt.Errorf("node %q: %s %q: %w", r.node.ID, c, raw, err)
			}
			n := Number{Has: true}
			if tok := r.data[start:r.pos]; isNumberToken(tok) {
				n.Tok = string(tok)
			}
			r.node.Values[i] = n
			return nil
		}
		r.problem(BadValue, "node %q: %s %q is %s", r.node.ID, c, raw, r.what())
		r.node.Values[i] = Number{Has: true}
		return r.skip(0)
	})
}

// skipValue skips a value nobody wants: a number on the fast path, any
// JSON value otherwise.
func (r *reader) skipValue() error {
	d := r.data
	i := r.pos
	if i < len(d) && d[i] >= '0' && d[i] <= '9' {
		// A plain non-negative integer followed by ',' or '}' is most of them.
		j := i
		for j < len(d) && d[j] >= '0' && d[j] <= '9' {
			j++
		}
		if j < len(d) && (d[j] == ',' || d[j] == '}') && (d[i] != '0' || j == i+1) {
			r.pos = j
			return nil
		}
	}
	return r.skip(0)
}
