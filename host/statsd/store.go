package statsd

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/sdk"
)

// Bounds on what the statsd listener holds for one poll's summaries.
const (
	// maxReservoir is how many samples of one name a window keeps for
	// its percentiles: every sample while there are at most this many,
	// else a uniform random choice of them (count, sum, min, max and mean
	// stay exact).
	maxReservoir = 1024
	// reservoirBudget bounds the samples kept for percentiles across all
	// names (8 bytes each).
	reservoirBudget = 4 << 20
	// maxSetMembers bounds one set's distinct members per window, and
	// setBudget those of all sets; a new member beyond either is dropped
	// (dropped.set_full).
	maxSetMembers = 100_000
	setBudget     = 2 << 20
	// maxPollers bounds the pollers with windows of their own besides the
	// default one (each sample is added to every window).
	maxPollers = 8
)

// maxSummarised is the longest name of a sample or set: its summaries'
// names (NAME.distinct, the longest suffix) must be valid too.
const maxSummarised = sdk.MaxNameLen - len(".distinct")

// percentiles are those reported for timers, histograms and distributions.
var percentiles = []struct {
	suffix string
	p      float64
}{{".p50", 50}, {".p90", 90}, {".p95", 95}, {".p99", 99}}

// store holds what node software reports over statsd: counters (int64,
// monotonic since the name was created), gauges, and the samples and set
// members of the current poll window. It outlives reloads.
type Store struct {
	maxNames int
	// expiry is how long a name may go without a line before it is
	// forgotten, freeing its place under maxNames.
	expiry time.Duration

	mu sync.Mutex
	// now is the time of the packets being applied (unix ns), read once
	// per batch.
	now   int64
	names map[string]*entry
	// budgets left for reservoirs and set members.
	resLeft, setLeft int
	lastSweep        int64
	// expired counts names forgotten after expiry.
	expired int64
	// pollers are the pollers besides the default one, with the time of
	// their last poll; one silent for expiry is forgotten.
	pollers map[string]int64
	// labels and key are labelledName's scratch.
	labels [sdk.MaxLabels][2][]byte
	key    []byte
	// notLabels counts tags that could not be labels (their lines keep
	// the tags folded into their names); notLabelSince those since the
	// last summary in the log, and notLabelExample the first of them.
	notLabels, notLabelSince int64
	notLabelExample          string
}

// notLabel counts a tag that cannot be a label; the caller holds s.mu.
func (s *Store) notLabel(tag []byte) {
	s.notLabels++
	s.notLabelSince++
	if s.notLabelExample == "" {
		s.notLabelExample = string(tag[:min(len(tag), 100)])
	}
}

// entry is one name.
type entry struct {
	// kind is kindCounter, kindGauge, kindTimer (for every sampled kind)
	// or kindSet.
	kind    metricKind
	last    int64 // unix ns of its last line
	born    int64 // unix ns of its first line: the newest names are shed first
	counter int64
	gauge   sdk.Value
	// win is the open window of the default poller (the gatherer), and
	// others those of the other pollers, by name (see Host.PollAs).
	win    window
	others map[string]*window
}

// window is what a sample or set name received since a poller's last poll.
type window struct {
	dist *dist
	set  map[uint64]struct{}
}

// dist summarises the samples of one window.
type dist struct {
	// count and sum are scaled by 1/rate: the estimated number and total
	// of the events sampled.
	count, sum float64
	min, max   float64
	seen       int // samples seen this window, for the reservoir
	res        []float64
}

func NewStore(maxNames int, expiry time.Duration) *Store {
	if expiry <= 0 {
		expiry = config.DefaultStatsdExpiry
	}
	if maxNames <= 0 {
		maxNames = config.DefaultStatsdNames
	}
	return &Store{maxNames: maxNames, expiry: expiry, names: map[string]*entry{},
		resLeft: reservoirBudget, setLeft: setBudget, pollers: map[string]int64{}}
}

// class is the kind an entry of kind k has: every sampled kind is one.
func class(k metricKind) metricKind {
	if k.sampled() {
		return kindTimer
	}
	return k
}

// setNow sets the time of the lines applied next; the caller holds s.mu.
func (s *Store) setNow(t time.Time) { s.now = t.UnixNano() }

// apply records one parsed line; the caller holds s.mu.
func (s *Store) apply(m *metric) dropReason {
	name, labelled := m.name, false
	if len(m.tags) > 0 {
		if m.kind == kindCounter || m.kind == kindGauge {
			// Tags become labels; a sample's or set's stay folded into
			// its name, for its summaries' names (name.tags.p99) to
			// stay as munin has them.
			key, bad, ok := labelledName(s.key[:0], m.name, m.tags, &s.labels)
			if ok {
				s.key, name, labelled = key, key, true
			} else if bad != nil {
				s.notLabel(bad)
			}
		}
		if !labelled {
			name = taggedName(m.name, m.tags)
			if !validName(name) {
				return dropName
			}
		}
	}
	if (m.kind.sampled() || m.kind == kindSet) && len(name) > maxSummarised {
		return dropName // its summaries' names would be too long
	}
	e, ok := s.names[string(name)]
	if !ok {
		if len(s.names) >= s.maxNames && !(s.sweepSoon() && len(s.names) < s.maxNames) {
			return dropTooManyName
		}
		e = &entry{kind: class(m.kind), gauge: sdk.Int(0), born: s.now}
		s.names[string(name)] = e
	} else if e.kind != class(m.kind) {
		return dropKind
	}
	e.last = s.now
	switch m.kind {
	case kindCounter:
		e.counter = addSat(e.counter, m.delta)
	case kindGauge:
		e.gauge = gaugeValue(e.gauge, m)
	case kindSet:
		h := fnv.New64a()
		h.Write(m.vals)
		k := h.Sum64()
		why := s.addMember(&e.win, k)
		for p := range s.pollers {
			if w := e.window(p); s.addMember(w, k) != dropNone {
				why = dropSetFull
			}
		}
		return why
	default:
		rate := 1 / m.rate
		m.eachSample(func(v float64) {
			s.addSample(&e.win, v, rate)
			for p := range s.pollers {
				s.addSample(e.window(p), v, rate)
			}
		})
	}
	return dropNone
}

// window is the open window of poller p ("" the default one).
func (e *entry) window(p string) *window {
	if p == "" {
		return &e.win
	}
	w := e.others[p]
	if w == nil {
		if e.others == nil {
			e.others = map[string]*window{}
		}
		w = &window{}
		e.others[p] = w
	}
	return w
}

func (s *Store) addSample(win *window, v, w float64) {
	if win.dist == nil {
		win.dist = &dist{min: math.Inf(1), max: math.Inf(-1)}
	}
	d := win.dist
	d.count += w
	d.sum += v * w
	d.min = min(d.min, v)
	d.max = max(d.max, v)
	d.seen++
	if len(d.res) < maxReservoir && s.resLeft > 0 {
		d.res = append(d.res, v)
		s.resLeft--
	} else if j := rand.IntN(d.seen); j < len(d.res) {
		d.res[j] = v
	}
}

func (s *Store) addMember(w *window, k uint64) dropReason {
	if _, ok := w.set[k]; ok {
		return dropNone
	}
	if len(w.set) >= maxSetMembers || s.setLeft <= 0 {
		return dropSetFull
	}
	if w.set == nil {
		w.set = map[uint64]struct{}{}
	}
	w.set[k] = struct{}{}
	s.setLeft--
	return dropNone
}

// sweepSoon forgets expired names if it has not looked in the last
// second, and reports whether it looked. The caller holds s.mu.
func (s *Store) sweepSoon() bool {
	if s.now-s.lastSweep < int64(time.Second) {
		return false
	}
	s.sweep(s.now)
	return true
}

// sweep forgets the names without a line since expiry before now, and
// the pollers without a poll; the caller holds s.mu.
func (s *Store) sweep(now int64) {
	s.lastSweep = now
	cut := now - int64(s.expiry)
	for p, last := range s.pollers {
		if last < cut {
			delete(s.pollers, p)
			for _, e := range s.names {
				if w := e.others[p]; w != nil {
					s.releaseWindow(w)
					delete(e.others, p)
				}
			}
		}
	}
	for k, e := range s.names {
		if e.last < cut {
			s.release(e)
			delete(s.names, k)
			s.expired++
		}
	}
}

// release gives an entry's windows' memory back to the budgets.
func (s *Store) release(e *entry) {
	s.releaseWindow(&e.win)
	for _, w := range e.others {
		s.releaseWindow(w)
	}
}

// releaseWindow empties a window, giving its memory back to the budgets.
func (s *Store) releaseWindow(w *window) {
	if w.dist != nil {
		s.resLeft += len(w.dist.res)
	}
	s.setLeft += len(w.set)
	w.dist, w.set = nil, nil
}

// gaugeValue is a gauge's new value after line m.
func gaugeValue(old sdk.Value, m *metric) sdk.Value {
	if !m.relative {
		if m.isInt {
			return sdk.Int(m.ival)
		}
		return sdk.Float(m.value)
	}
	if oi, ok := old.Int64(); ok && m.isInt {
		if r := oi + m.ival; (m.ival >= 0) == (r >= oi) {
			return sdk.Int(r)
		}
	}
	of, _ := old.Float64()
	return sdk.Float(of + m.value)
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// addTo copies the counters and gauges into st, and the summaries of the
// samples and set members the default poller's window received. With close
// the window ends: the next one starts empty.
func (s *Store) addTo(st sdk.Stats, close bool) { s.AddToFor(st, "", close) }

// addToFor is addTo for poller's window. A poller other than the default
// one gets its own window from its first poll on (that first answer has
// empty summaries); one that does not poll for the expiry is forgotten.
// Names past their expiry are forgotten first. Percentiles are computed
// after the lock is released, so that sorting the samples never holds up
// the listener.
func (s *Store) AddToFor(st sdk.Stats, poller string, close bool) {
	type summary struct {
		name string
		d    *dist
	}
	var summaries []summary
	func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := time.Now().UnixNano()
		s.sweep(now)
		if poller != "" {
			if _, known := s.pollers[poller]; !known && len(s.pollers) >= maxPollers {
				poller = "" // too many: share the default window, read only
				close = false
			} else {
				s.pollers[poller] = now
			}
		}
		for k, e := range s.names {
			switch e.kind {
			case kindCounter:
				st.Counters[k] = e.counter
			case kindGauge:
				st.Stats[k] = e.gauge
			default:
				w := e.window(poller)
				if e.kind == kindSet {
					setDefault(st, k+".distinct", sdk.Int(int64(len(w.set))))
					if close {
						s.setLeft += len(w.set)
						w.set = nil
					}
					continue
				}
				d := w.dist
				switch {
				case d == nil:
				case close:
					s.resLeft += len(d.res)
					w.dist = nil
				default:
					c := *d
					c.res = slices.Clone(d.res)
					d = &c
				}
				summaries = append(summaries, summary{k, d})
			}
		}
	}()
	for _, w := range summaries {
		summarise(st, w.name, w.d)
	}
}

// setDefault sets a summary's stat unless a gauge already has the name.
func setDefault(st sdk.Stats, k string, v sdk.Value) {
	if _, taken := st.Stats[k]; !taken {
		st.Stats[k] = v
	}
}

// summarise adds the summary of a window's samples under name; it sorts
// d's samples.
func summarise(st sdk.Stats, name string, d *dist) {
	if d == nil || d.seen == 0 {
		setDefault(st, name+".count", sdk.Int(0))
		setDefault(st, name+".sum", sdk.Int(0))
		for _, k := range []string{".min", ".max", ".mean", ".p50", ".p90", ".p95", ".p99"} {
			setDefault(st, name+k, sdk.Null)
		}
		return
	}
	setDefault(st, name+".count", number(d.count))
	setDefault(st, name+".sum", number(d.sum))
	setDefault(st, name+".min", number(d.min))
	setDefault(st, name+".max", number(d.max))
	setDefault(st, name+".mean", number(d.sum/d.count))
	res := d.res
	slices.Sort(res)
	for _, p := range percentiles {
		setDefault(st, name+p.suffix, number(percentile(res, p.p)))
	}
}

// percentile is the nearest-rank percentile p of sorted; NaN if empty.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// number is f as an integer when it is one, else a float (null if not
// finite).
func number(f float64) sdk.Value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return sdk.Int(int64(f))
	}
	return sdk.Float(f)
}

// names is the number of distinct names held.
func (s *Store) numNames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.names)
}

// bornOf returns, for each of names (a counter, gauge or summary name as
// addTo makes them), the name it summarises and when that was first
// received; a name no longer held is taken as the newest.
func (s *Store) BornOf(names []string) (bases []string, born []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bases, born = make([]string, len(names)), make([]int64, len(names))
	for i, k := range names {
		base := k
		e := s.names[k]
		if e == nil {
			if j := strings.LastIndexByte(k, '.'); j > 0 {
				base = k[:j]
				e = s.names[base]
			}
		}
		bases[i], born[i] = base, math.MaxInt64
		if e != nil {
			born[i] = e.born
		}
	}
	return bases, born
}
