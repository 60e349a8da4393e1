package snapshot

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// This file is the strict reader (Parse, ParseSelect): a snapshot that is
// not valid JSON shaped as a snapshot is an error with its line and
// column; the gatherer reads its own snapshot back with it. lenient.go is
// the munin plugin's reader, which keeps going past a bad node.

// maxDepth bounds the nesting of values the parser skips over (values
// under keys it does not know), so hostile input cannot exhaust the stack.
const maxDepth = 256

// Select names the values a parse keeps; the others are checked and
// dropped. Reading one graph's stat from a large snapshot this way costs
// little more than scanning the bytes. A nil *Select keeps everything.
type Select struct {
	Counters map[string]bool
	Stats    map[string]bool
}

func (s *Select) keeps(c Category, name []byte) bool {
	if s == nil {
		return true
	}
	if c == Counters {
		return s.Counters[string(name)]
	}
	return s.Stats[string(name)]
}

// size is how many values of c a node keeps at most, 0 if unknown.
func (s *Select) size(c Category) int {
	switch {
	case s == nil:
		return 0
	case c == Counters:
		return len(s.Counters)
	}
	return len(s.Stats)
}

// SyntaxError is a snapshot that is not valid JSON or not shaped like a
// snapshot. Line and Column are 1-based; Column counts bytes.
type SyntaxError struct {
	Offset       int
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Parse parses a whole snapshot.
func Parse(data []byte) (Snapshot, error) { return ParseSelect(data, nil) }

// ParseSelect parses a snapshot, keeping only the values sel names, and
// every node (with its nickname and timestamp) whatever values it has.
//
// A node entry must be an object; its "timestamp" is a number (missing or
// null: 0, so the node is stale), its "nickname" a string (missing or null:
// ""), its "stats" an object whose "counters" and "stats" are objects of
// name to number or null. Other keys are skipped, so a newer writer's
// additions do not break an older reader. Where a node id appears twice,
// the last entry wins, as in Python.
func ParseSelect(data []byte, sel *Select) (Snapshot, error) {
	p := &parser{data: data, sel: sel}
	snap, err := p.snapshot()
	if err != nil {
		return nil, p.syntaxError(err)
	}
	return snap, nil
}

// plain marks the bytes a simple string is made of: printable ASCII but
// '"' and '\\'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// special8 reports whether any of the 8 bytes in x is not plain: a
// control character, '"', '\\' or a byte of a non-ASCII character. It
// lets a string be scanned 8 bytes at a time (the "has less" and "has
// zero" tests of Bit Twiddling Hacks, exact as to whether any byte
// matches).
func special8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	s := x ^ (ones * '\\')
	return ((x-ones*0x20)&^x|(q-ones)&^q|(s-ones)&^s|x)&highs != 0
}

type parser struct {
	data []byte
	pos  int
	sel  *Select
}

// errorAt is an error at a byte offset, turned into a SyntaxError with line
// and column at the end of the parse.
type errorAt struct {
	off int
	msg string
}

func (e *errorAt) Error() string { return e.msg }

func (p *parser) errf(format string, args ...any) error {
	return &errorAt{off: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) syntaxError(err error) error {
	var e *errorAt
	if !errors.As(err, &e) {
		return err
	}
	off := min(e.off, len(p.data))
	before := p.data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := off - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return &SyntaxError{Offset: off, Line: line, Column: col, Msg: err.Error()}
}

func (p *parser) snapshot() (Snapshot, error) {
	p.ws()
	if p.peek() != '{' {
		return nil, p.errf("a snapshot is a JSON object of node id to node, found %s", p.what())
	}
	snap := Snapshot{}
	err := p.object(func(id string) error {
		n, err := p.node(id)
		if err != nil {
			return err
		}
		snap[id] = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos < len(p.data) {
		return nil, p.errf("%s after the end of the snapshot", p.what())
	}
	return snap, nil
}

func (p *parser) node(id string) (*Node, error) {
	if p.peek() != '{' {
		return nil, p.errf("node %q: a node is an object with timestamp, nickname and stats, found %s", id, p.what())
	}
	n := &Node{Counters: make(map[string]Value, p.sel.size(Counters)), Stats: make(map[string]Value, p.sel.size(Stats))}
	err := p.object(func(key string) error {
		switch key {
		case "timestamp":
			if p.peek() == 'n' {
				return p.literal("null")
			}
			v, err := p.number(true)
			if err != nil {
				return fmt.Errorf("node %q: timestamp: %w", id, err)
			}
			n.Timestamp, _ = v.Float64()
			return nil
		case "nickname":
			if p.peek() == 'n' {
				return p.literal("null")
			}
			if p.peek() != '"' {
				return p.errf("node %q: nickname must be a string, found %s", id, p.what())
			}
			s, err := p.str()
			n.Nickname = s
			return err
		case "stats":
			return p.stats(id, n)
		}
		return p.skip(0)
	})
	return n, err
}

func (p *parser) stats(id string, n *Node) error {
	if p.peek() != '{' {
		return p.errf("node %q: stats must be an object with counters and stats, found %s", id, p.what())
	}
	return p.object(func(key string) error {
		c, ok := ParseCategory(key)
		if !ok {
			return p.skip(0)
		}
		return p.values(id, c, n.Values(c))
	})
}

func (p *parser) values(id string, c Category, into map[string]Value) error {
	if p.peek() != '{' {
		return p.errf("node %q: %s must be an object of name to number, found %s", id, c, p.what())
	}
	return p.objectRaw(func(raw []byte, simple bool) error {
		keep := false
		var name string
		if simple {
			keep = p.sel.keeps(c, raw)
			if keep {
				name = string(raw)
			}
		} else {
			var err error
			if name, err = decodeString(raw); err != nil {
				return p.errf("%v", err)
			}
			keep = p.sel.keeps(c, []byte(name))
		}
		v, err := p.value(keep)
		if err != nil {
			if !simple || keep {
				return fmt.Errorf("node %q: %s %q: %w", id, c, name, err)
			}
			return fmt.Errorf("node %q: %s %q: %w", id, c, raw, err)
		}
		if keep {
			into[name] = v
		}
		return nil
	})
}

// value parses a number or null. Python's NaN, Infinity and -Infinity are
// numbers munin cannot graph: they read as null.
func (p *parser) value(keep bool) (Value, error) {
	switch p.peek() {
	case 'n':
		return Null, p.literal("null")
	case 'N':
		return Null, p.literal("NaN")
	case 'I':
		return Null, p.literal("Infinity")
	case '-':
		if p.pos+1 < len(p.data) && p.data[p.pos+1] == 'I' {
			return Null, p.literal("-Infinity")
		}
	}
	return p.number(keep)
}

// number parses a JSON number, converting it only if keep is set.
func (p *parser) number(keep bool) (Value, error) {
	d := p.data
	start := p.pos
	i := start
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		if i == start {
			return Null, p.errf("expected a number or null, found %s", p.what())
		}
		p.pos = i
		return Null, p.errf("expected a digit after '-', found %s", p.what())
	}
	isInt := true
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return Null, p.errf("expected a digit after the decimal point, found %s", p.what())
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		isInt = false
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return Null, p.errf("expected a digit in the exponent, found %s", p.what())
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
		isInt = false
	}
	p.pos = i
	if !keep {
		return Null, nil
	}
	return parseNumber(d[start:i], isInt), nil
}

// parseNumber converts a token already checked against JSON's grammar.
func parseNumber(tok []byte, isInt bool) Value {
	if isInt {
		digits := tok
		if digits[0] == '-' {
			digits = digits[1:]
		}
		if len(digits) <= 18 { // cannot overflow int64
			var n int64
			for _, c := range digits {
				n = n*10 + int64(c-'0')
			}
			if tok[0] == '-' {
				n = -n
			}
			return Int(n)
		}
		if n, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
			return Int(n)
		}
	}
	// Out of range floats come back as ±Inf, which Float makes null.
	f, _ := strconv.ParseFloat(string(tok), 64)
	return Float(f)
}

// object parses an object at p.pos, calling fn with p at each value.
func (p *parser) object(fn func(key string) error) error {
	return p.objectRaw(func(raw []byte, simple bool) error {
		key := ""
		if simple {
			key = string(raw)
		} else {
			var err error
			if key, err = decodeString(raw); err != nil {
				return p.errf("%v", err)
			}
		}
		return fn(key)
	})
}

// objectRaw parses an object at p.pos, calling fn with each key's raw
// bytes, quotes included unless simple (plain ASCII, no escapes).
func (p *parser) objectRaw(fn func(raw []byte, simple bool) error) error {
	p.pos++ // '{'
	p.ws()
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	for {
		if p.peek() != '"' {
			return p.errf("expected a string key, found %s", p.what())
		}
		raw, simple, err := p.rawString()
		if err != nil {
			return err
		}
		p.ws()
		if p.peek() != ':' {
			return p.errf("expected ':' after an object key, found %s", p.what())
		}
		p.pos++
		p.ws()
		if err := fn(raw, simple); err != nil {
			return err
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.pos++
			p.ws()
		case '}':
			p.pos++
			return nil
		default:
			return p.errf("expected ',' or '}' in an object, found %s", p.what())
		}
	}
}

// str parses a string at p.pos.
func (p *parser) str() (string, error) {
	raw, simple, err := p.rawString()
	if err != nil {
		return "", err
	}
	if simple {
		return string(raw), nil
	}
	s, err := decodeString(raw)
	if err != nil {
		return "", p.errf("%v", err)
	}
	return s, nil
}

// rawString scans a string at p.pos. If it is plain ASCII without
// escapes (simple), raw is its content; otherwise raw is the whole token,
// quotes included, for decodeString.
func (p *parser) rawString() (raw []byte, simple bool, err error) {
	d := p.data
	start := p.pos
	simple = true
	i := start + 1
	for i+8 <= len(d) && !special8(binary.LittleEndian.Uint64(d[i:])) {
		i += 8
	}
	for i < len(d) && plain[d[i]] {
		i++
	}
	for ; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			p.pos = i + 1
			if simple {
				return d[start+1 : i], true, nil
			}
			return d[start : i+1], false, nil
		case c == '\\':
			simple = false
			i++
		case c < 0x20:
			p.pos = i
			return nil, false, p.errf("control character %q in a string", c)
		case c >= 0x80:
			simple = false
		}
	}
	p.pos = start
	return nil, false, p.errf("unterminated string")
}

// decodeString decodes a quoted JSON string token with escapes or
// non-ASCII bytes exactly as encoding/json does (bad UTF-8 becomes U+FFFD).
func decodeString(tok []byte) (string, error) {
	var s string
	if err := json.Unmarshal(tok, &s); err != nil {
		return "", fmt.Errorf("bad string %.40s: %w", tok, err)
	}
	return s, nil
}

func (p *parser) literal(word string) error {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		return p.errf("expected %s, found %s", word, p.what())
	}
	p.pos += len(word)
	return nil
}

// skip checks and skips any JSON value (plus Python's NaN and infinities).
func (p *parser) skip(depth int) error {
	if depth > maxDepth {
		return p.errf("values nested more than %d deep", maxDepth)
	}
	switch c := p.peek(); c {
	case '{':
		return p.objectRaw(func([]byte, bool) error { return p.skip(depth + 1) })
	case '[':
		p.pos++
		p.ws()
		if p.peek() == ']' {
			p.pos++
			return nil
		}
		for {
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.ws()
			switch p.peek() {
			case ',':
				p.pos++
				p.ws()
			case ']':
				p.pos++
				return nil
			default:
				return p.errf("expected ',' or ']' in an array, found %s", p.what())
			}
		}
	case '"':
		_, err := p.str()
		return err
	case 't':
		return p.literal("true")
	case 'f':
		return p.literal("false")
	}
	_, err := p.value(false)
	return err
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// peek returns the byte at p.pos, or 0 at the end.
func (p *parser) peek() byte {
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

// what describes the input at p.pos for an error message.
func (p *parser) what() string {
	if p.pos >= len(p.data) {
		return "the end of the file"
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		return "a string"
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '-' || (c >= '0' && c <= '9'):
		return "a number"
	case bytes.HasPrefix(p.data[p.pos:], []byte("true")), bytes.HasPrefix(p.data[p.pos:], []byte("false")):
		return "a boolean"
	case bytes.HasPrefix(p.data[p.pos:], []byte("null")):
		return "null"
	default:
		return fmt.Sprintf("%q", c)
	}
}
