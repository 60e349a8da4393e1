package influxdb

import (
	"bytes"
	"compress/gzip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statsherd/statsherd/outputs/internal/queue"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// Layout: a stat "group.rest" (load_monitor.avg_load) is the field "rest"
// (avg_load) of the measurement "PREFIX_group" (statsherd_load_monitor);
// a name without a dot is a field of the measurement "PREFIX". One line
// per node and measurement, with every field of it, tagged nickname, node
// and the static tags, at the round's time in milliseconds. Counters are
// integers (5i), stats always floats, so a stat that is an integer in one
// round and a fraction in the next never conflicts with itself; unknown
// (null) stats have no field.

// Label is one label of a stat: a name and a value. Stats carry none yet
// (issue 19 adds them to the sdk); a stat's labels become tags of its
// own line, beside node and nickname.
type Label struct{ Name, Value string }

// field is one value of a node, found under its measurement.
type field struct {
	m     *measure
	key   string // escaped field key
	v     float64
	i     int64
	isInt bool
}

// measure is what a stat name becomes, cached.
type measure struct {
	name string // escaped measurement
	key  string // escaped field key
}

// encoder turns rounds into queue records: batches of at most batch
// lines (and MaxBatchBytes) of line protocol, gzip'd if zip.
type encoder struct {
	prefix string
	static [][2]string
	batch  int
	zip    bool
	names  map[string]*measure

	fields []field
	tags   []byte // the node's escaped tag set, ",k=v,…"
	raw    []byte
	n, smp int
	zbuf   bytes.Buffer
	zw     *gzip.Writer
	recs   []queue.Record
}

func newEncoder(prefix string, static map[string]string, batch int, zip bool) *encoder {
	e := &encoder{prefix: prefix, batch: max(batch, 1), zip: zip, names: map[string]*measure{}}
	for k, v := range static {
		e.static = append(e.static, [2]string{k, v})
	}
	if zip {
		e.zw, _ = gzip.NewWriterLevel(&e.zbuf, gzip.BestSpeed)
	}
	return e
}

// measure returns the measurement and field key of a stat name.
func (e *encoder) measure(name string) *measure {
	if m, ok := e.names[name]; ok {
		return m
	}
	// Until labels become tags here (issue 22), a series with labels is
	// its folded name (stat.Fold), as munin has it.
	group, rest, ok := strings.Cut(stat.Fold(name), ".")
	m := &measure{}
	switch {
	case !ok:
		m.name, m.key = escape(e.prefix, measurementEscapes), escape(group, keyEscapes)
		if e.prefix == "" {
			m.name = DefaultPrefix
		}
	case e.prefix == "":
		m.name, m.key = escape(group, measurementEscapes), escape(rest, keyEscapes)
	default:
		m.name, m.key = escape(e.prefix+"_"+group, measurementEscapes), escape(rest, keyEscapes)
	}
	e.names[name] = m
	return m
}

// encode returns the round's records (valid until the next call), with
// the number of values (fields) in them.
func (e *encoder) encode(r *sdk.RoundNodes, now time.Time) ([]queue.Record, int) {
	ts := r.Time
	if ts.IsZero() {
		ts = now
	}
	ms := ts.UnixMilli()
	stamp := append([]byte{' '}, strconv.AppendInt(nil, ms, 10)...)
	stamp = append(stamp, '\n')
	e.recs = e.recs[:0]
	e.raw, e.n, e.smp = e.raw[:0], 0, 0
	total := 0
	for n := range r.All() {
		e.nodeTags(n, nil)
		e.fields = e.fields[:0]
		for name, v := range n.Stats.Counters {
			m := e.measure(name)
			e.fields = append(e.fields, field{m: m, key: m.key, i: v, isInt: true})
		}
		for name, v := range n.Stats.Stats {
			f, ok := v.Float64()
			if !ok {
				continue
			}
			m := e.measure(name)
			e.fields = append(e.fields, field{m: m, key: m.key, v: f})
		}
		slices.SortFunc(e.fields, func(a, b field) int {
			if c := strings.Compare(a.m.name, b.m.name); c != 0 {
				return c
			}
			return strings.Compare(a.key, b.key)
		})
		for i := 0; i < len(e.fields); {
			j := i + 1
			for j < len(e.fields) && e.fields[j].m.name == e.fields[i].m.name {
				j++
			}
			e.line(e.fields[i:j], stamp, ms)
			total += j - i
			i = j
		}
	}
	e.flush(ms)
	for i := range e.recs {
		e.recs[i].Index, e.recs[i].Count = uint32(i), uint32(len(e.recs))
	}
	return e.recs, total
}

// nodeTags sets the tag set of a node's lines: nickname, node, the static
// tags and a stat's labels, sorted by name (as InfluxDB prefers), empty
// values left out (InfluxDB drops them).
func (e *encoder) nodeTags(n *sdk.NodeSample, labels []Label) {
	tags := make([][2]string, 0, len(e.static)+2+len(labels))
	tags = append(tags, [2]string{TagNickname, n.Nickname}, [2]string{TagNode, n.ID})
	tags = append(tags, e.static...)
	for _, l := range labels {
		tags = append(tags, [2]string{l.Name, l.Value})
	}
	slices.SortFunc(tags, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	e.tags = e.tags[:0]
	for _, t := range tags {
		if t[1] == "" {
			continue
		}
		e.tags = append(e.tags, ',')
		e.tags = append(e.tags, escape(t[0], keyEscapes)...)
		e.tags = append(e.tags, '=')
		e.tags = append(e.tags, escape(t[1], keyEscapes)...)
	}
}

// line appends one line: a measurement's fields of one node.
func (e *encoder) line(fs []field, stamp []byte, ms int64) {
	b := append(e.raw, fs[0].m.name...)
	b = append(b, e.tags...)
	for i, f := range fs {
		if i == 0 {
			b = append(b, ' ')
		} else {
			b = append(b, ',')
		}
		b = append(b, f.key...)
		b = append(b, '=')
		if f.isInt {
			b = strconv.AppendInt(b, f.i, 10)
			b = append(b, 'i')
		} else {
			b = strconv.AppendFloat(b, f.v, 'g', -1, 64)
		}
	}
	e.raw = append(b, stamp...)
	e.n++
	e.smp += len(fs)
	if e.n >= e.batch || len(e.raw) >= MaxBatchBytes {
		e.flush(ms)
	}
}

// flush makes the batch built so far a record, gzip'd if asked.
func (e *encoder) flush(ms int64) {
	if e.n == 0 {
		return
	}
	var body []byte
	if e.zip {
		e.zbuf.Reset()
		e.zw.Reset(&e.zbuf)
		e.zw.Write(e.raw)
		e.zw.Close()
		body = bytes.Clone(e.zbuf.Bytes())
	} else {
		body = bytes.Clone(e.raw)
	}
	e.recs = append(e.recs, queue.Record{Round: ms, Samples: uint32(e.smp), Body: body})
	e.raw, e.n, e.smp = e.raw[:0], 0, 0
}

// Characters line protocol needs escaped (with a backslash) in a
// measurement, and in a tag key, tag value or field key.
const (
	measurementEscapes = ", "
	keyEscapes         = ",= "
)

// escape makes s safe in line protocol: the characters in special get a
// backslash; a backslash, a newline or another control character (which
// line protocol cannot carry) becomes _. An empty s is _.
func escape(s, special string) string {
	if s == "" {
		return "_"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c == '\\' || strings.IndexByte(special, c) >= 0 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < ' ' || c == 0x7f || c == '\\':
			b.WriteByte('_')
		case strings.IndexByte(special, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
