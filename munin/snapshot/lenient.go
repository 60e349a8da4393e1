package snapshot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"

	"github.com/statsherd/statsherd/sdk/stat"
)

// This file is the lenient reader (Read, ReadWith) of the statsherd-munin
// plugin: where Parse (strict.go) refuses the whole file, it skips what is
// damaged and says what (Problems), and keeps only what the graphs drawn
// need.

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
	return ReadWith(data, wants, ReadOptions{})
}

// ReadOptions are Read's options.
type ReadOptions struct {
	// Done, if set, is called now and then with a number of bytes at the
	// start of data that the read has finished with and will not look at
	// again but to say where a problem is; a caller that mapped the file
	// may let go of them. Every value Read returns is a copy.
	Done func(n int)
}

// doneEvery is how many bytes pass between calls of ReadOptions.Done.
const doneEvery = 1 << 20

// ReadWith is Read with options.
func ReadWith(data []byte, wants []Want, opt ReadOptions) (*Reading, error) {
	r := &reader{parser: parser{data: data}, nwant: len(wants), done: opt.Done}
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
	byLen     [2][][]wantIndex
	samples   []Sample
	seen      map[string]int // id → index in samples
	prev      [2][]cachedKey // keys of the last values object of each category
	problems  [numProblemKinds]Problem
	done      func(n int)
	doneAt    int // what done was last told
	nodeStart int // where the node being read starts
	// node is the node being read; bad says why it will be skipped.
	node Sample
	bad  string
}

// cachedKey is a key of the previous node's values, at the same place.
type cachedKey struct {
	raw  []byte // its bytes in the file: plain ASCII, no escapes
	want int    // the index of its Want, or -1
}

type wantIndex struct {
	name string
	i    int
}

func (r *reader) index(wants []Want) {
	for i, w := range wants {
		if w.Category > Stats {
			continue
		}
		m := r.byLen[w.Category]
		for len(m) <= len(w.Name) {
			m = append(m, nil)
		}
		m[len(w.Name)] = append(m[len(w.Name)], wantIndex{w.Name, i})
		r.byLen[w.Category] = m
	}
}

// want returns the index of the wanted value of category c named name, or -1.
func (r *reader) want(c Category, name []byte) int {
	if m := r.byLen[c]; len(name) < len(m) {
		for _, w := range m[len(name)] {
			if w.name == string(name) {
				return w.i
			}
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
	// The previous node's keys are still looked at (cachedKey): let go
	// of the bytes before it only.
	prevStart := r.nodeStart
	r.nodeStart = r.pos
	if r.done != nil && prevStart-r.doneAt > doneEvery {
		r.done(prevStart)
		r.doneAt = prevStart
	}
	if r.peek() != '{' {
		r.problem(BadNode, "node %q is %s, not an object with timestamp, nickname and stats", id, r.what())
		return r.skip(0)
	}
	r.node = Sample{ID: id}
	if r.nwant > 0 {
		r.node.Values = make([]Number, r.nwant)
	}
	r.bad = ""
	err := r.objectRaw(func(raw []byte, simple bool) error {
		key := string(raw) // no allocation: only compared
		if !simple {
			var err error
			if key, err = decodeString(raw); err != nil {
				return r.errf("%v", err)
			}
		}
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
			return r.objectRaw(func(raw []byte, simple bool) error {
				var c Category
				switch {
				case simple && string(raw) == "counters":
					c = Counters
				case simple && string(raw) == "stats":
					c = Stats
				case simple:
					return r.skip(0)
				default:
					key, err := decodeString(raw)
					if err != nil {
						return r.errf("%v", err)
					}
					var ok bool
					if c, ok = ParseCategory(key); !ok {
						return r.skip(0)
					}
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
// is the reader's inner loop, where most of a snapshot's bytes are. The
// nodes of a fleet have the same names in the same order, so a key equal
// to the previous node's key at the same place is taken without scanning
// it (one memory comparison); other keys are scanned 8 bytes at a time. A
// value nobody wants is skipped by a number scanner, anything else by the
// general skip.
func (r *reader) values(c Category) error {
	if r.peek() != '{' {
		r.problem(BadCategory, "node %q: %s is %s, not an object of name to number", r.node.ID, c, r.what())
		return r.skip(0)
	}
	d := r.data
	i := skipWS(d, r.pos+1)
	if i < len(d) && d[i] == '}' {
		r.pos = i + 1
		return nil
	}
	prev := r.prev[c]
	defer func() { r.prev[c] = prev }()
	for k := 0; ; k++ {
		if i >= len(d) || d[i] != '"' {
			r.pos = i
			return r.errf("expected a string key, found %s", r.what())
		}
		start := i + 1
		var key []byte
		w := -1
		if pk := (cachedKey{}); k < len(prev) {
			pk = prev[k]
			if end := start + len(pk.raw); end < len(d) && d[end] == '"' && bytes.Equal(d[start:end], pk.raw) {
				key, w, i = pk.raw, pk.want, end+1
			}
		}
		if key == nil {
			j := start
			for j+8 <= len(d) && !special8(binary.LittleEndian.Uint64(d[j:])) {
				j += 8
			}
			for j < len(d) && plain[d[j]] {
				j++
			}
			if j < len(d) && d[j] == '"' {
				key, i = d[start:j], j+1
				w = r.want(c, key)
				ck := cachedKey{raw: key, want: w}
				if k < len(prev) {
					prev[k] = ck
				} else {
					prev = append(prev, ck)
				}
			} else {
				// Escapes or non-ASCII: decoded, never cached.
				r.pos = i
				name, err := r.str()
				if err != nil {
					return err
				}
				key, i = []byte(name), r.pos
				w = r.want(c, key)
			}
		}
		i = skipWS(d, i)
		if i >= len(d) || d[i] != ':' {
			r.pos = i
			return r.errf("expected ':' after an object key, found %s", r.what())
		}
		i = skipWS(d, i+1)
		if w >= 0 {
			r.pos = i
			if err := r.keep(c, key, w); err != nil {
				return err
			}
			i = r.pos
		} else if end := scanNumber(d, i); end > i {
			i = end
		} else {
			r.pos = i
			if err := r.skip(0); err != nil {
				return err
			}
			i = r.pos
		}
		i = skipWS(d, i)
		if i < len(d) && d[i] == ',' {
			i = skipWS(d, i+1)
			continue
		}
		if i < len(d) && d[i] == '}' {
			r.pos = i + 1
			return nil
		}
		r.pos = i
		return r.errf("expected ',' or '}' in an object, found %s", r.what())
	}
}

// keep reads the value of wanted stat w, named key, at r.pos.
func (r *reader) keep(c Category, key []byte, w int) error {
	if end := scanNumber(r.data, r.pos); end > r.pos {
		r.node.Values[w] = Number{Tok: string(r.data[r.pos:end]), Has: true}
		r.pos = end
		return nil
	}
	switch r.peek() {
	case 'n', 'N', 'I', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		start := r.pos
		if _, err := r.value(false); err != nil {
			return fmt.Errorf("node %q: %s %q: %w", r.node.ID, c, key, err)
		}
		n := Number{Has: true}
		if tok := r.data[start:r.pos]; isNumberToken(tok) {
			n.Tok = string(tok)
		}
		r.node.Values[w] = n
		return nil
	}
	r.problem(BadValue, "node %q: %s %q is %s", r.node.ID, c, key, r.what())
	r.node.Values[w] = Number{Has: true}
	return r.skip(0)
}

// isWS marks JSON's whitespace bytes.
var isWS = [256]bool{' ': true, '\n': true, '\r': true, '\t': true}

// skipWS returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipWS(d []byte, i int) int {
	for i < len(d) && isWS[d[i]] {
		i++
	}
	return i
}

// digits returns the end of the run of decimal digits at d[i:], 8 bytes
// at a time (a byte is a digit when its high nibble is 3 and adding 6
// does not carry out of its low nibble; only the first non-digit counts,
// so a carry into the bytes after it does no harm).
func digits(d []byte, i int) int {
	const highs, threes, sixes = 0xF0F0F0F0F0F0F0F0, 0x3030303030303030, 0x0606060606060606
	for i+8 <= len(d) {
		x := binary.LittleEndian.Uint64(d[i:])
		m := (x&highs ^ threes) | ((x+sixes)&highs ^ threes)
		if m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		i++
	}
	return i
}

// scanNumber returns the end of the JSON number at d[i:], or i if there is
// none (or it is malformed: the general parser then says why).
func scanNumber(d []byte, i int) int {
	j := i
	if j < len(d) && d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		j = digits(d, j+1)
	default:
		return i
	}
	if j < len(d) && d[j] == '.' {
		k := digits(d, j+1)
		if k == j+1 {
			return i
		}
		j = k
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		k := digits(d, j)
		if k == j {
			return i
		}
		j = k
	}
	return j
}
