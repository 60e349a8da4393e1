package statsd

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// metricKind is the type of a statsd line this host accepts.
type metricKind uint8

const (
	kindCounter      metricKind = iota + 1 // "c": add to a counter
	kindGauge                              // "g": set (or, signed, change) a stat
	kindTimer                              // "ms": a duration sample, summarised per poll
	kindHistogram                          // "h": a sample, summarised per poll
	kindDistribution                       // "d": a sample, summarised per poll
	kindSet                                // "s": a member, distinct members counted per poll
)

// sampled reports whether lines of kind k are samples summarised per poll.
func (k metricKind) sampled() bool {
	return k == kindTimer || k == kindHistogram || k == kindDistribution
}

// dropReason says why a statsd line was dropped.
type dropReason uint8

const (
	dropNone        dropReason = iota
	dropSyntax                 // not name:value|type
	dropType                   // an unknown type, a DogStatsD event or service check
	dropValue                  // not a number, or a negative counter delta
	dropRate                   // a sample rate outside (0, 1]
	dropName                   // not a valid stat name (sdk.ValidName), tags included
	dropTooManyName            // a new name beyond the host's limit
	dropKind                   // a name already used with another type
	dropSetFull                // a new member of a set already at its limit
	numDropReasons
)

func (r dropReason) String() string {
	switch r {
	case dropSyntax:
		return "not name:value|type"
	case dropType:
		return "unsupported metric type, event or service check"
	case dropValue:
		return "bad value"
	case dropRate:
		return "bad sample rate"
	case dropName:
		return "invalid stat name"
	case dropTooManyName:
		return "too many distinct names"
	case dropKind:
		return "name already used with another type"
	case dropSetFull:
		return "too many distinct set members"
	}
	return "ok"
}

// maxValues bounds the values of one line (DogStatsD packs several:
// name:1:2:3|h).
const maxValues = 1024

// metric is one parsed statsd line. name, vals and tags alias the packet
// buffer.
type metric struct {
	name []byte
	kind metricKind
	// delta is a counter's increment, all values added and scaled by the
	// sample rate.
	delta int64
	// value is a gauge's value (the last one if the line has several) or
	// a sample's first value; isInt says it was written as an integer
	// (ival holds it); relative says a gauge's was signed ("+3", "-2"),
	// which in statsd changes the gauge instead of setting it.
	value    float64
	ival     int64
	isInt    bool
	relative bool
	// vals is the line's values as written, ':'-separated, and n how
	// many there are: samples after the first, and a set's member.
	vals []byte
	n    int
	// rate is the sample rate, in (0, 1].
	rate float64
	// tags is the DogStatsD tag list ("k:v,k2"), folded into the name.
	tags []byte
}

// parseLine parses one statsd line:
// name:value[:value…]|type[|@rate][|#tags][|c:container][|T…]. It checks
// the name's characters (validName) but not whether the name is new.
func parseLine(line []byte) (metric, dropReason) {
	m := metric{rate: 1}
	if bytes.HasPrefix(line, []byte("_e{")) || bytes.HasPrefix(line, []byte("_sc|")) {
		return m, dropType // DogStatsD events and service checks
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return m, dropSyntax
	}
	m.name = line[:colon]
	rest := line[colon+1:]
	bar := bytes.IndexByte(rest, '|')
	if bar < 0 {
		return m, dropSyntax
	}
	m.vals = rest[:bar]
	rest = rest[bar+1:]
	typ := rest
	var fields []byte
	if bar = bytes.IndexByte(rest, '|'); bar >= 0 {
		typ, fields = rest[:bar], rest[bar+1:]
	}
	if why := m.parseFields(fields, bar >= 0); why != dropNone {
		return m, why
	}
	switch string(typ) {
	case "c":
		m.kind = kindCounter
	case "g":
		m.kind = kindGauge
	case "ms":
		m.kind = kindTimer
	case "h":
		m.kind = kindHistogram
	case "d":
		m.kind = kindDistribution
	case "s":
		m.kind = kindSet
	default:
		if len(typ) > 0 && len(typ) <= 2 && bytes.IndexByte(typ, ':') < 0 {
			return m, dropType
		}
		return m, dropSyntax
	}
	if why := m.parseValues(); why != dropNone {
		return m, why
	}
	if !validName(m.name) {
		return m, dropName
	}
	return m, dropNone
}

// parseFields reads the optional fields after the type: @rate, #tags, and
// DogStatsD's c:container, T timestamp, e:external data and card:
// cardinality, which are ignored.
func (m *metric) parseFields(fields []byte, present bool) dropReason {
	if present && len(fields) == 0 {
		return dropSyntax
	}
	for len(fields) > 0 {
		f := fields
		if bar := bytes.IndexByte(fields, '|'); bar >= 0 {
			f, fields = fields[:bar], fields[bar+1:]
			if len(fields) == 0 {
				return dropSyntax
			}
		} else {
			fields = nil
		}
		switch {
		case len(f) >= 2 && f[0] == '@':
			r, err := strconv.ParseFloat(string(f[1:]), 64)
			if err != nil || !(r > 0 && r <= 1) {
				return dropRate
			}
			m.rate = r
		case len(f) >= 1 && f[0] == '#':
			m.tags = f[1:]
		case bytes.HasPrefix(f, []byte("c:")), bytes.HasPrefix(f, []byte("e:")), bytes.HasPrefix(f, []byte("card:")),
			len(f) >= 2 && f[0] == 'T':
		default:
			return dropSyntax
		}
	}
	return dropNone
}

// parseValues checks the line's values for its kind and computes a
// counter's delta, a gauge's value and a sample's first value.
func (m *metric) parseValues() dropReason {
	if len(m.vals) == 0 {
		return dropValue
	}
	if m.kind == kindSet {
		m.n = 1
		return dropNone
	}
	var total float64
	allInt := true
	var itotal int64
	for v := range bytes.SplitSeq(m.vals, []byte{':'}) {
		m.n++
		if m.n > maxValues || len(v) == 0 {
			return dropValue
		}
		switch m.kind {
		case kindCounter:
			if v[0] == '-' {
				return dropValue
			}
			if i, err := strconv.ParseInt(string(v), 10, 64); err == nil && allInt {
				itotal = addSat(itotal, i)
				total += float64(i)
				continue
			}
			allInt = false
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsNaN(f) || f < 0 {
				return dropValue
			}
			total += f
		case kindGauge:
			m.relative = v[0] == '+' || v[0] == '-'
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return dropValue
			}
			m.value, m.isInt = f, false
			if bytes.IndexAny(v, ".eEnN") < 0 {
				if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
					m.ival, m.isInt = i, true
				}
			}
		default: // samples
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return dropValue
			}
			if m.n == 1 {
				m.value = f
			}
		}
	}
	if m.kind == kindCounter {
		if allInt && m.rate == 1 {
			m.delta = itotal
			return dropNone
		}
		scaled := math.Round(total / m.rate)
		if !(scaled < math.MaxInt64) {
			return dropValue
		}
		m.delta = int64(scaled)
	}
	return dropNone
}

// eachSample calls f with every value of a sampled line.
func (m *metric) eachSample(f func(float64)) {
	if m.n == 1 {
		f(m.value)
		return
	}
	for v := range bytes.SplitSeq(m.vals, []byte{':'}) {
		x, _ := strconv.ParseFloat(string(v), 64) // checked by parseValues
		f(x)
	}
}

// taggedName is the name a line is kept under: its own name, with its
// DogStatsD tags, sorted, appended as ".key_value" (or ".key"), every
// character a stat name may not hold (dots included) made '_'. The result
// still has to pass validName.
func taggedName(name, tags []byte) []byte {
	if len(tags) == 0 {
		return name
	}
	var parts [][]byte
	for t := range bytes.SplitSeq(tags, []byte{','}) {
		if len(t) > 0 {
			parts = append(parts, t)
		}
	}
	slices.SortFunc(parts, bytes.Compare)
	out := append([]byte(nil), name...)
	for i, t := range parts {
		if i > 0 && bytes.Equal(t, parts[i-1]) {
			continue
		}
		out = append(out, '.')
		for _, c := range t {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
				out = append(out, c)
			default:
				out = append(out, '_')
			}
		}
	}
	return out
}

// validName is sdk.ValidName on bytes, without allocating.
func validName(name []byte) bool {
	if len(name) == 0 || len(name) > sdk.MaxNameLen {
		return false
	}
	prev := byte('.')
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.':
			if prev == '.' {
				return false
			}
		default:
			return false
		}
		prev = c
	}
	return prev != '.'
}

// eachLine calls f for every non-empty line of a packet (lines end in \n,
// \r\n, or the end of the packet).
func eachLine(packet []byte, f func([]byte)) {
	for len(packet) > 0 {
		var line []byte
		if i := bytes.IndexByte(packet, '\n'); i >= 0 {
			line, packet = packet[:i], packet[i+1:]
		} else {
			line, packet = packet, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 {
			f(line)
		}
	}
}

// labelledName appends to dst the series key (sdk.Series) a counter's or
// gauge's line is kept under when all its DogStatsD tags can be labels:
// "key:value" a label, a bare "key" a label with an empty value
// (Prometheus takes an empty label for none, so the series is what
// statsd_exporter makes of it, which drops such a tag; munin still gets
// the name ".key" as before), the same tag twice once. ok is false, and
// bad the first tag that cannot be a label, when one cannot (a key that
// is not a label name, "key:" with nothing after, two values for one key,
// more than sdk.MaxLabels, a value too long or not UTF-8): then the line
// keeps its folded name (taggedName), as before labels. Either way the
// folded name must be a valid name, so that munin sees exactly the names
// it did. It allocates nothing: ls is its scratch, the labels views of
// tags.
func labelledName(dst, name, tags []byte, ls *[sdk.MaxLabels][2][]byte) (key, bad []byte, ok bool) {
	n := 0
	folded := len(name) // the length of taggedName(name, tags)
	for t := range bytes.SplitSeq(tags, []byte{','}) {
		if len(t) == 0 {
			continue
		}
		k, v, hasValue := bytes.Cut(t, []byte{':'})
		if hasValue && len(v) == 0 || len(k) == 0 || stat.ValidLabelName(view(k)) != nil || len(v) > sdk.MaxLabelValueLen || !utf8.Valid(v) {
			return dst, t, false
		}
		dup := false
		for _, l := range ls[:n] {
			if bytes.Equal(l[0], k) {
				if !bytes.Equal(l[1], v) {
					return dst, t, false
				}
				dup = true
			}
		}
		if dup {
			continue
		}
		if n == sdk.MaxLabels {
			return dst, t, false
		}
		// Insertion sort by name: at most 16.
		i := n
		for ; i > 0 && bytes.Compare(ls[i-1][0], k) > 0; i-- {
			ls[i] = ls[i-1]
		}
		ls[i] = [2][]byte{k, v}
		n++
		folded += 1 + len(t)
	}
	if folded > sdk.MaxNameLen || n == 0 {
		return dst, nil, false
	}
	dst = append(dst, name...)
	dst = append(dst, '{')
	for i, l := range ls[:n] {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l[0]...)
		dst = append(dst, '=', '"')
		dst = stat.AppendEscaped(dst, view(l[1]))
		dst = append(dst, '"')
	}
	return append(dst, '}'), nil, true
}

// view is b as a string, without a copy, for a call that does not keep it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
