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
// (null) stats have no field. A series with labels (sdk/stat's series
// key, name{label="value",…}) is the field of its name, on a line of its
// own whose tags are the node's and its labels (labelTags).

// field is one value of a node, found under its measurement.
type field struct {
	m     *measure
	tags  string // the line's escaped tag set, ",k=v,…"; "" for the node's
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

	fields   []field
	tags     []byte      // the node's escaped tag set, ",k=v,…"
	nodeTags [][2]string // the node's tags, sorted by key, unescaped
	reserved map[string]bool
	raw      []byte
	n, smp   int
	zbuf     bytes.Buffer
	zw       *gzip.Writer
	recs     []queue.Record
}

func newEncoder(prefix string, static map[string]string, batch int, zip bool) *encoder {
	e := &encoder{prefix: prefix, batch: max(batch, 1), zip: zip, names: map[string]*measure{},
		reserved: map[string]bool{TagNickname: true, TagNode: true}}
	for k, v := range static {
		e.static = append(e.static, [2]string{k, v})
		e.reserved[k] = true
	}
	if zip {
		e.zw, _ = gzip.NewWriterLevel(&e.zbuf, gzip.BestSpeed)
	}
	return e
}

// measure returns the measurement and field key of a stat name (without
// labels).
func (e *encoder) measure(name string) *measure {
	if m, ok := e.names[name]; ok {
		return m
	}
	group, rest, ok := strings.Cut(name, ".")
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
		e.setNodeTags(n)
		e.fields = e.fields[:0]
		for key, v := range n.Stats.Counters {
			e.fields = append(e.fields, e.field(key, field{i: v, isInt: true}))
		}
		for key, v := range n.Stats.Stats {
			f, ok := v.Float64()
			if !ok {
				continue
			}
			e.fields = append(e.fields, e.field(key, field{v: f}))
		}
		slices.SortFunc(e.fields, func(a, b field) int {
			if c := strings.Compare(a.m.name, b.m.name); c != 0 {
				return c
			}
			if c := strings.Compare(a.tags, b.tags); c != 0 {
				return c
			}
			return strings.Compare(a.key, b.key)
		})
		for i := 0; i < len(e.fields); {
			j := i + 1
			for j < len(e.fields) && e.fields[j].m.name == e.fields[i].m.name && e.fields[j].tags == e.fields[i].tags {
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

// field fills in f, the value of the series key, with its measurement,
// field key and, for a series with labels, its line's tag set.
func (e *encoder) field(key string, f field) field {
	f.m = e.measure(stat.SeriesName(key))
	f.key = f.m.key
	if stat.HasLabels(key) {
		f.tags = e.labelTags(key)
	}
	return f
}

// setNodeTags sets the tag set of a node's lines: nickname, node and the
// static tags, sorted by key (as InfluxDB prefers), empty values left out
// (InfluxDB drops them).
func (e *encoder) setNodeTags(n *sdk.NodeSample) {
	tags := append(e.nodeTags[:0], [2]string{TagNickname, n.Nickname}, [2]string{TagNode, n.ID})
	tags = append(tags, e.static...)
	slices.SortFunc(tags, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	e.nodeTags = tags
	e.tags = appendTags(e.tags[:0], tags)
}

// labelTags returns the tag set of a labelled series' line: the node's
// tags and the series' labels, sorted by key, empty values left out. A
// label named as one of the node's tags (node, nickname, a static tag) is
// renamed exported_NAME (exported_exported_NAME if the series has a label
// exported_NAME too, and so on: a line never holds a key twice).
func (e *encoder) labelTags(key string) string {
	labels := stat.Labels(key)
	tags := make([][2]string, 0, len(e.nodeTags)+len(labels))
	tags = append(tags, e.nodeTags...)
	for _, l := range labels {
		name := l.Name
		for e.reserved[name] || name != l.Name && slices.ContainsFunc(labels, func(o stat.Label) bool { return o.Name == name }) {
			name = "exported_" + name
		}
		tags = append(tags, [2]string{name, l.Value})
	}
	slices.SortFunc(tags, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return string(appendTags(nil, tags))
}

// appendTags appends tags, sorted, as ",key=value" each, escaped, those
// with an empty value left out.
func appendTags(b []byte, tags [][2]string) []byte {
	for _, t := range tags {
		if t[1] == "" {
			continue
		}
		b = append(b, ',')
		b = append(b, escape(t[0], keyEscapes)...)
		b = append(b, '=')
		b = append(b, escape(t[1], keyEscapes)...)
	}
	return b
}

// line appends one line: a measurement's fields of one node.
func (e *encoder) line(fs []field, stamp []byte, ms int64) {
	b := append(e.raw, fs[0].m.name...)
	if fs[0].tags != "" {
		b = append(b, fs[0].tags...)
	} else {
		b = append(b, e.tags...)
	}
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
