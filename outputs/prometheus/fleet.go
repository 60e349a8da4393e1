package prometheus

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// fleet is the latest sample of every node, held compactly: each metric
// family (a Prometheus name with its HELP and TYPE) once, and per node its
// label text and a flat list of (family, value) pairs. A fleet's nodes
// share almost all their names, so 10,000 nodes of 100 stats hold 100
// families and a million 16-byte samples.
type fleet struct {
	prefix string

	fams     []family
	byMetric map[string]int32 // Prometheus name → family
	// counters and stats map a statsherd name to its family, or to
	// collided when its Prometheus name belongs to another statsherd name.
	counters, stats map[string]int32
	// order is the families in the exposition's order (by name); valid
	// unless reorder is set.
	order   []int32
	reorder bool

	nodes map[string]*node
	// sorted is the nodes in the exposition's order (nickname, then id);
	// valid unless resort is set.
	sorted []*node
	resort bool

	// collisions counts the values dropped because their Prometheus name
	// belongs to another statsherd name, since the last call to take it.
	collisions int
	collided   string // one such name, for the log

	buf     []byte  // the renderer's buffer, reused
	touched []*node // update's scratch

	// lbls maps a series key with labels to its label text in lblText:
	// `,route="/login",status="500"`, to go after the node's own labels
	// (a label named node or nickname is written exported_node or
	// exported_nickname, as Prometheus renames a target's clashing
	// labels); lblText[0] is the empty text of a series without labels.
	lbls    map[string]int32
	lblText []string
}

// family is one metric family of the exposition.
type family struct {
	metric string // the Prometheus name
	help   string // the HELP text, escaped
	typ    string // "counter" or "gauge"
	rank   int32  // position in order
	used   bool   // some node had a sample of it at the last render
}

// compactAt is the number of families without samples (names no node
// reports any more) above which they are forgotten, when they are also
// half of all.
const compactAt = 1000

// node is one node's latest sample.
type node struct {
	id, nickname string
	// labels is the text between the metric name and the value:
	// `{nickname="…",node="…"} `.
	labels []byte
	seen   time.Time
	// samples is sorted by family rank.
	samples []sample
}

type sample struct {
	fam int32
	lbl int32 // the series' label text in fleet.lblText; 0: none
	v   float64
}

// collided marks a statsherd name whose Prometheus name is taken.
const collided = -1

// lastSeen is the family of every node's last-answer time.
const lastSeen = 0

func newFleet(prefix string) *fleet {
	f := &fleet{prefix: prefix, byMetric: map[string]int32{}, counters: map[string]int32{}, stats: map[string]int32{},
		nodes: map[string]*node{}, lbls: map[string]int32{}, lblText: []string{""}}
	f.add(promname.Metric(prefix, promname.LastSeen), "Unix time of the node's last answer to the gatherer.", "gauge")
	return f
}

// add makes a family, or returns collided if its name is taken.
func (f *fleet) add(metric, help, typ string) int32 {
	if _, ok := f.byMetric[metric]; ok {
		return collided
	}
	i := int32(len(f.fams))
	f.fams = append(f.fams, family{metric: metric, help: escapeHelp(help), typ: typ})
	f.byMetric[metric] = i
	f.reorder = true
	return i
}

// counter returns the family of the counter key (a series key), or
// collided.
func (f *fleet) counter(key string) int32 {
	if i, ok := f.counters[key]; ok {
		return i
	}
	var i int32
	if name := stat.SeriesName(key); len(name) < len(key) {
		i = f.counter(name) // the family of the name without labels
	} else {
		i = f.add(promname.Counter(f.prefix, name), "statsherd counter "+name, "counter")
	}
	f.counters[strings.Clone(key)] = i
	return i
}

// stat returns the family of the stat key (a series key), or collided.
func (f *fleet) stat(key string) int32 {
	if i, ok := f.stats[key]; ok {
		return i
	}
	var i int32
	if name := stat.SeriesName(key); len(name) < len(key) {
		i = f.stat(name)
	} else {
		i = f.add(promname.Metric(f.prefix, name), "statsherd stat "+name, "gauge")
	}
	f.stats[strings.Clone(key)] = i
	return i
}

// labels returns the label text of the series key (lblText).
func (f *fleet) labels(key string) int32 {
	if !stat.HasLabels(key) {
		return 0
	}
	if i, ok := f.lbls[key]; ok {
		return i
	}
	i := int32(len(f.lblText))
	f.lblText = append(f.lblText, string(appendSeriesLabels(nil, key)))
	f.lbls[strings.Clone(key)] = i
	return i
}

// update keeps the newest sample of every node in r, as each node is
// decoded; a node absent from r keeps its older sample.
func (f *fleet) update(r *sdk.RoundNodes) {
	touched := f.touched[:0]
	for s := range r.All() {
		touched = append(touched, f.updateNode(s))
	}
	if f.reorder {
		f.rank()
		touched = touched[:0]
		for _, n := range f.nodes {
			touched = append(touched, n)
		}
	}
	for _, n := range touched {
		slices.SortFunc(n.samples, func(a, b sample) int {
			if c := cmp.Compare(f.fams[a.fam].rank, f.fams[b.fam].rank); c != 0 || a.lbl == b.lbl {
				return c
			}
			return strings.Compare(f.lblText[a.lbl], f.lblText[b.lbl])
		})
	}
	clear(touched) // no node kept alive past the round
	f.touched = touched[:0]
}

// updateNode makes s the node's latest sample, copying what it keeps: s
// and its maps are the decoder's, reused for the next node.
func (f *fleet) updateNode(s *sdk.NodeSample) *node {
	n := f.nodes[s.ID]
	if n == nil {
		n = &node{id: strings.Clone(s.ID)}
		f.nodes[n.id] = n
		f.resort = true
	}
	if n.labels == nil || n.nickname != s.Nickname {
		n.nickname = strings.Clone(s.Nickname)
		n.labels = appendLabels(n.labels[:0], n.id, n.nickname)
		f.resort = true
	}
	n.seen = s.Timestamp
	ss := n.samples[:0]
	if c := s.Stats.Len() + 1; cap(ss) < c {
		ss = make([]sample, 0, c)
	}
	ss = append(ss, sample{lastSeen, 0, float64(s.Timestamp.UnixNano()) / 1e9})
	for name, v := range s.Stats.Counters {
		if i := f.counter(name); i != collided {
			ss = append(ss, sample{i, f.labels(name), float64(v)})
		} else {
			f.collide(promname.Counter(f.prefix, stat.SeriesName(name)))
		}
	}
	for name, v := range s.Stats.Stats {
		x, ok := v.Float64()
		if !ok {
			continue // unknown: no sample, rather than a made-up number
		}
		if i := f.stat(name); i != collided {
			ss = append(ss, sample{i, f.labels(name), x})
		} else {
			f.collide(promname.Metric(f.prefix, stat.SeriesName(name)))
		}
	}
	n.samples = ss
	return n
}

func (f *fleet) collide(metric string) {
	f.collisions++
	f.collided = metric
}

// rank orders the families by name.
func (f *fleet) rank() {
	f.order = f.order[:0]
	for i := range f.fams {
		f.order = append(f.order, int32(i))
	}
	slices.SortFunc(f.order, func(a, b int32) int { return strings.Compare(f.fams[a].metric, f.fams[b].metric) })
	for r, i := range f.order {
		f.fams[i].rank = int32(r)
	}
	f.reorder = false
}

// forget drops the nodes last heard from before cutoff: they are not
// exported, and come back with their next answer.
func (f *fleet) forget(cutoff time.Time) {
	for id, n := range f.nodes {
		if n.seen.Before(cutoff) {
			delete(f.nodes, id)
			f.resort = true
		}
	}
}

// inOrder returns the nodes in the exposition's order: by nickname, then
// id, as Prometheus's client library sorts series by label values.
func (f *fleet) inOrder() []*node {
	if f.resort {
		f.sorted = f.sorted[:0]
		for _, n := range f.nodes {
			f.sorted = append(f.sorted, n)
		}
		slices.SortFunc(f.sorted, func(a, b *node) int {
			return cmp.Or(strings.Compare(a.nickname, b.nickname), strings.Compare(a.id, b.id))
		})
		clear(f.sorted[len(f.sorted):cap(f.sorted)])
		f.resort = false
	}
	return f.sorted
}

// compact forgets the families no node had a sample of at the last
// render, so that names that come and go do not pile up.
func (f *fleet) compact() {
	id := make([]int32, len(f.fams))
	fams := f.fams[:0:0]
	for i, fam := range f.fams {
		id[i] = collided
		if fam.used || i == lastSeen {
			id[i] = int32(len(fams))
			fams = append(fams, fam)
		}
	}
	f.fams = fams
	f.byMetric = make(map[string]int32, len(fams))
	for i, fam := range fams {
		f.byMetric[fam.metric] = int32(i)
	}
	// A name whose family is gone, or that collided with one, is mapped
	// again when next seen.
	remap := func(names map[string]int32) map[string]int32 {
		out := make(map[string]int32, len(fams))
		for name, i := range names {
			if i != collided && id[i] != collided {
				out[name] = id[i]
			}
		}
		return out
	}
	f.counters, f.stats = remap(f.counters), remap(f.stats)
	for _, n := range f.nodes {
		ss := n.samples[:0]
		for _, s := range n.samples {
			if i := id[s.fam]; i != collided {
				ss = append(ss, sample{i, s.lbl, s.v})
			}
		}
		n.samples = ss
	}
	f.rank()
}

// compactLabels forgets the label texts no node's sample has, and the
// series keys they were for, so that label values that come and go do not
// pile up.
func (f *fleet) compactLabels() {
	id := make([]int32, len(f.lblText))
	texts := []string{""}
	for _, n := range f.nodes {
		for i, s := range n.samples {
			if s.lbl == 0 {
				continue
			}
			if id[s.lbl] == 0 {
				id[s.lbl] = int32(len(texts))
				texts = append(texts, f.lblText[s.lbl])
			}
			n.samples[i].lbl = id[s.lbl]
		}
	}
	lbls := make(map[string]int32, len(texts))
	for key, i := range f.lbls {
		if id[i] != 0 {
			lbls[key] = id[i]
		}
	}
	f.lbls, f.lblText = lbls, texts
	// And the families of the series gone.
	for _, m := range []map[string]int32{f.counters, f.stats} {
		for key := range m {
			if _, ok := lbls[key]; !ok && stat.HasLabels(key) {
				delete(m, key)
			}
		}
	}
}
