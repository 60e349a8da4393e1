package remote_write

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/outputs/internal/queue"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// The remote write 1.0 request (prometheus/prompb, remote.proto and
// types.proto) is four small messages:
//
//	WriteRequest { repeated TimeSeries timeseries = 1; }
//	TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	Label        { string name = 1; string value = 2; }
//	Sample       { double value = 1; int64 timestamp = 2; }
//
// They are written here with the protobuf module's wire primitives
// (protowire) rather than generated types: prompb lives in the
// prometheus/prometheus module (hundreds of modules in go.sum, gogo
// protobuf), protoc is not part of this project's build, and a round of a
// million samples is written straight into one reused buffer instead of a
// million allocated messages. The tests check the bytes with real
// receivers (VictoriaMetrics, Prometheus).
const (
	fieldTimeseries = 1
	fieldLabels     = 1
	fieldSamples    = 2
	fieldName       = 1
	fieldValue      = 2
	fieldSampleVal  = 1
	fieldSampleTS   = 2
)

const nameLabel = "__name__"

// encoder turns rounds into queue records: batches of at most batch
// samples, each a snappy-compressed WriteRequest.
type encoder struct {
	prefix string
	batch  int
	// static are the extra labels of every series, sorted by name.
	static [][2]string
	names  map[string]string // statsherd name (counters with _total) → metric name

	raw  []byte // the WriteRequest being built
	n    int    // samples in raw
	comp []byte
	recs []queue.Record
	pre  []byte // a node's labels that sort before __name__, encoded
	post []byte // and after
	// node is a node's labels, sorted; seriesLbls the labels of each series
	// key with labels (seriesLabels); lpre and lpost the encoding of one
	// such series' labels around __name__.
	node        [][2]string
	seriesLbls  map[string][][2]string
	lpre, lpost []byte
}

func newEncoder(prefix string, batch int, static map[string]string) *encoder {
	e := &encoder{prefix: prefix, batch: max(batch, 1), names: map[string]string{}, seriesLbls: map[string][][2]string{}}
	for k, v := range static {
		e.static = append(e.static, [2]string{k, v})
	}
	slices.SortFunc(e.static, func(a, b [2]string) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	return e
}

// encode returns the round's records (valid until the next call), with
// the number of samples in them; the nodes are encoded as they are
// decoded.
func (e *encoder) encode(r *sdk.RoundNodes, now time.Time) ([]queue.Record, int) {
	ts := r.Time
	if ts.IsZero() {
		ts = now
	}
	ms := ts.UnixMilli()
	e.recs = e.recs[:0]
	e.raw, e.n = e.raw[:0], 0
	total := 0
	for n := range r.All() {
		e.nodeLabels(n)
		seen := n.Timestamp
		if seen.IsZero() || seen.Unix() <= 0 {
			seen = ts
		}
		e.series(e.name(promname.LastSeen, false), float64(seen.UnixNano())/1e9, ms)
		total++
		for name, v := range n.Stats.Counters {
			if stat.HasLabels(name) {
				e.labelled(e.name(stat.SeriesName(name), true), name, float64(v), ms)
			} else {
				e.series(e.name(name, true), float64(v), ms)
			}
			total++
		}
		for name, v := range n.Stats.Stats {
			f, ok := v.Float64()
			if !ok {
				continue // unknown: no sample, as in the prometheus output
			}
			if stat.HasLabels(name) {
				e.labelled(e.name(stat.SeriesName(name), false), name, f, ms)
			} else {
				e.series(e.name(name, false), f, ms)
			}
			total++
		}
	}
	e.flush(ms)
	for i := range e.recs {
		e.recs[i].Index, e.recs[i].Count = uint32(i), uint32(len(e.recs))
	}
	return e.recs, total
}

// name returns the metric name of a statsherd name, cached.
func (e *encoder) name(name string, counter bool) string {
	key := name
	if counter {
		key = name + promname.CounterSuffix
	}
	if m, ok := e.names[key]; ok {
		return m
	}
	m := promname.Metric(e.prefix, key)
	e.names[key] = m
	return m
}

// nodeLabels encodes the labels of n's series other than __name__: node,
// nickname and the static labels, split around where __name__ sorts; it
// keeps them, sorted, in e.node for the series with labels of their own.
func (e *encoder) nodeLabels(n *sdk.NodeSample) {
	e.pre, e.post = e.pre[:0], e.post[:0]
	labels := append(e.node[:0], [2]string{promname.LabelNickname, n.Nickname}, [2]string{promname.LabelNode, n.ID})
	labels = append(labels, e.static...)
	slices.SortFunc(labels, compareLabels)
	e.node = labels
	for _, l := range labels {
		if l[0] < nameLabel {
			e.pre = appendLabel(e.pre, l[0], l[1])
		} else {
			e.post = appendLabel(e.post, l[0], l[1])
		}
	}
}

func compareLabels(a, b [2]string) int { return strings.Compare(a[0], b[0]) }

// maxSeriesLabels bounds e.seriesLbls, the cache of series' labels.
const maxSeriesLabels = 1 << 16

// seriesLabels returns the labels of the series key as sent, sorted: an
// empty one is none, and one named node, nickname or as a static label is
// renamed exported_NAME, as Prometheus renames a target's. Cached: a
// fleet's nodes share their series.
func (e *encoder) seriesLabels(key string) [][2]string {
	if ls, ok := e.seriesLbls[key]; ok {
		return ls
	}
	var ls [][2]string
	stat.EachLabel(key, func(name, value string) bool {
		if value == "" {
			return true
		}
		if name == promname.LabelNode || name == promname.LabelNickname || slices.ContainsFunc(e.static, func(l [2]string) bool { return l[0] == name }) {
			name = "exported_" + name
		}
		ls = append(ls, [2]string{name, value})
		return true
	})
	slices.SortFunc(ls, compareLabels)
	if len(e.seriesLbls) >= maxSeriesLabels {
		clear(e.seriesLbls)
	}
	e.seriesLbls[strings.Clone(key)] = ls
	return ls
}

// labelled appends one TimeSeries of one sample of the series key, with
// labels: the node's (e.node) and the series' own (seriesLabels), merged
// in order. The node's label text of series (e.pre, e.post) is kept.
func (e *encoder) labelled(metric, key string, v float64, ms int64) {
	own := e.seriesLabels(key)
	pre, post := e.pre, e.post
	e.lpre, e.lpost = e.lpre[:0], e.lpost[:0]
	node := e.node
	for len(node) > 0 || len(own) > 0 {
		var l [2]string
		if len(own) == 0 || len(node) > 0 && node[0][0] < own[0][0] {
			l, node = node[0], node[1:]
		} else {
			l, own = own[0], own[1:]
		}
		if l[0] < nameLabel {
			e.lpre = appendLabel(e.lpre, l[0], l[1])
		} else {
			e.lpost = appendLabel(e.lpost, l[0], l[1])
		}
	}
	e.pre, e.post = e.lpre, e.lpost
	e.series(metric, v, ms)
	e.pre, e.post = pre, post
}

// series appends one TimeSeries of one sample.
func (e *encoder) series(name string, v float64, ms int64) {
	sample := protowire.SizeTag(fieldSampleVal) + 8 + protowire.SizeTag(fieldSampleTS) + protowire.SizeVarint(uint64(ms))
	nameLen := labelSize(nameLabel, name)
	size := len(e.pre) + protowire.SizeTag(fieldLabels) + protowire.SizeBytes(nameLen) + len(e.post) +
		protowire.SizeTag(fieldSamples) + protowire.SizeBytes(sample)
	b := protowire.AppendTag(e.raw, fieldTimeseries, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	b = append(b, e.pre...)
	b = appendLabel(b, nameLabel, name)
	b = append(b, e.post...)
	b = protowire.AppendTag(b, fieldSamples, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sample))
	b = protowire.AppendTag(b, fieldSampleVal, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(v))
	b = protowire.AppendTag(b, fieldSampleTS, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(ms))
	e.raw = b
	e.n++
	if e.n >= e.batch {
		e.flush(ms)
	}
}

// flush compresses the request built so far into a record.
func (e *encoder) flush(ms int64) {
	if e.n == 0 {
		return
	}
	e.comp = snappy.Encode(e.comp[:cap(e.comp)], e.raw)
	body := make([]byte, len(e.comp))
	copy(body, e.comp)
	e.recs = append(e.recs, queue.Record{Round: ms, Samples: uint32(e.n), Body: body})
	e.raw, e.n = e.raw[:0], 0
}

func labelSize(name, value string) int {
	return protowire.SizeTag(fieldName) + protowire.SizeBytes(len(name)) +
		protowire.SizeTag(fieldValue) + protowire.SizeBytes(len(value))
}

// appendLabel appends one Label field of a TimeSeries.
func appendLabel(b []byte, name, value string) []byte {
	b = protowire.AppendTag(b, fieldLabels, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(labelSize(name, value)))
	b = protowire.AppendTag(b, fieldName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, fieldValue, protowire.BytesType)
	return protowire.AppendString(b, value)
}
