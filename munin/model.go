package munin

import (
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/statsherd/statsherd/munin/snapshot"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// The output keeps the latest sample of every node ever seen: at 10,000
// nodes × 100 stats a million values, under some hundred distinct names
// (a fleet's nodes share almost all of theirs). So the model keeps each
// name once, JSON-encoded, in a table; the sorted list of a node's names,
// its shape, once for every node with the same names; and per node only
// its values, in flat arrays in the shape's order. The snapshot is written
// straight from it, in the same bytes as snapshot.AppendEntry writes.

// Kinds of a stored value.
const (
	kindNull uint8 = iota
	kindInt
	kindFloat
)

// fleet is the model: every node's latest sample.
type fleet struct {
	plain   []string          // name index → the name (a series key)
	folded  []string          // name index → the name written (stat.Fold)
	names   []string          // name index → the name written, JSON-encoded
	nameIdx map[string]uint32 // name → index in names
	shapes  map[string]*shape // shape.key() → shape
	gen     uint32            // write generation, for sweeping
	// slack is how many unused shapes and names (64 times it) are kept
	// before a sweep drops them.
	slack int

	// scratch
	order []named
	key   []uint32
	live  []bool
	remap []uint32
	stats sdk.Stats // a node's lists as maps (setLists' slow path)
	// placed is the shape whose names' positions posC and posS hold,
	// by name index: 1 + the position among counters and among stats,
	// 0 for a name not in it (fillLists). filled[i] is stamp once
	// position i is set for the node being filled.
	placed     *shape
	posC, posS []uint32
	filled     []uint32
	stamp      uint32
	// ptrs finds a name's index by the address of its bytes (lookup).
	ptrs  []ptrIdx
	nptrs int
}

// shape is a list of names: keys[:nc] the counters, keys[nc:] the stats,
// each part sorted by name.
type shape struct {
	nc    int
	words []uint32 // nc, then keys: the shape's key in fleet.shapes
	keys  []uint32 // words[1:]
	gen   uint32   // last write generation a node had it
}

// node is one node's latest sample: vals[i] (of kind kinds[i]) is the
// value of name shape.keys[i].
type node struct {
	nickname  string
	timestamp float64
	first     float64 // the first timestamp this process saw (0: loaded)
	shape     *shape
	kinds     []uint8
	vals      []uint64
}

type named struct {
	name string
	idx  uint32
	v    sdk.Value
}

func newFleet() *fleet {
	return &fleet{nameIdx: map[string]uint32{}, shapes: map[string]*shape{}, slack: 64}
}

// intern returns the index of name.
func (f *fleet) intern(name string) uint32 {
	if i, ok := f.nameIdx[name]; ok {
		return i
	}
	i := uint32(len(f.names))
	name = strings.Clone(name) // not the caller's buffer
	f.plain = append(f.plain, name)
	// munin has no labels: a series is written under its folded name.
	folded := stat.Fold(name)
	f.folded = append(f.folded, folded)
	f.names = append(f.names, string(snapshot.AppendString(nil, folded)))
	f.nameIdx[name] = i
	return i
}

// key is the shape map's key for keys: their bytes, viewed in place (a
// map lookup with it does not allocate).
func key(keys []uint32) string {
	return unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(keys))), len(keys)*4)
}

// shapeOf returns the shared shape of order's names (interned: idx set),
// order[:nc] the counters.
func (f *fleet) shapeOf(nc int, order []named) *shape {
	// nc is part of the key: a counter and a stat may share a name.
	k := append(f.key[:0], uint32(nc))
	for i := range order {
		k = append(k, order[i].idx)
	}
	f.key = k
	if s := f.shapes[key(k)]; s != nil {
		return s
	}
	words := slices.Clone(k)
	s := &shape{nc: nc, words: words, keys: words[1:], gen: f.gen}
	f.shapes[key(words)] = s // a view of words, which do not change
	return s
}

// set makes n hold the values of st.
func (f *fleet) set(n *node, st sdk.Stats) {
	if f.fill(n, st) {
		return
	}
	// New names, or names gone: sort them into a shape.
	f.order = f.order[:0]
	for k, v := range st.Counters {
		f.order = append(f.order, named{name: k, v: sdk.Int(v)})
	}
	nc := len(f.order)
	for k, v := range st.Stats {
		f.order = append(f.order, named{name: k, v: v})
	}
	f.setSorted(n, nc, f.order)
}

// setLists makes n hold the values of l. When l has exactly the names
// of n's shape, the usual case, each value goes straight to its place in
// n: a lookup a name and no maps, where the maps cost the sdk's decoder an
// insertion a name and fill a lookup. (The names come in no set order: a
// host encodes its stats from maps.)
func (f *fleet) setLists(n *node, l *sdk.NodeLists) {
	if n.shape != nil && f.fillLists(n, l) {
		return
	}
	// New names, names gone, or a name sent twice (its last value
	// wins, as in the maps): through the maps.
	if f.stats.Counters == nil {
		f.stats = sdk.NewStats()
	}
	clear(f.stats.Counters)
	clear(f.stats.Stats)
	for i, k := range l.CounterNames {
		f.stats.Counters[k] = l.Counters[i]
	}
	for i, k := range l.StatNames {
		f.stats.Stats[k] = l.Stats[i]
	}
	f.set(n, f.stats)
}

// fillLists sets n's values from l if l has exactly the names of n's
// shape, each once; if not, it returns false, with some of n's values
// perhaps set.
func (f *fleet) fillLists(n *node, l *sdk.NodeLists) bool {
	s := n.shape
	if len(l.CounterNames) != s.nc || len(l.CounterNames)+len(l.StatNames) != len(s.keys) {
		return false
	}
	f.place(s)
	f.stamp++
	if f.stamp == 0 { // wrapped
		clear(f.filled)
		f.stamp = 1
	}
	for j, name := range l.CounterNames {
		k, ok := f.lookup(name)
		if !ok || int(k) >= len(f.posC) || f.posC[k] == 0 || f.filled[f.posC[k]-1] == f.stamp {
			return false // not in the shape, or sent twice
		}
		p := f.posC[k] - 1
		f.filled[p] = f.stamp
		n.kinds[p], n.vals[p] = kindInt, uint64(l.Counters[j])
	}
	for j, name := range l.StatNames {
		k, ok := f.lookup(name)
		if !ok || int(k) >= len(f.posS) || f.posS[k] == 0 || f.filled[f.posS[k]-1] == f.stamp {
			return false
		}
		p := f.posS[k] - 1
		f.filled[p] = f.stamp
		n.kinds[p], n.vals[p] = pack(l.Stats[j])
	}
	return true
}

// lookup is nameIdx[name], first tried by the address of name's bytes:
// the sdk's decoder hands out the same string for a name in every round
// (interned), and a table by address (ptrs) costs a few nanoseconds
// where the map, hashing the name, costs tens. An address is only a hint:
// the name there is checked, since a string the decoder forgot may be
// freed and its address reused.
func (f *fleet) lookup(name string) (uint32, bool) {
	p := uintptr(unsafe.Pointer(unsafe.StringData(name)))
	if len(f.ptrs) > 0 {
		mask := uintptr(len(f.ptrs) - 1)
		for i := slot(p, mask); f.ptrs[i].p != 0; i = (i + 1) & mask {
			if e := f.ptrs[i]; e.p == p {
				if int(e.idx) < len(f.plain) && f.plain[e.idx] == name {
					return e.idx, true
				}
				break
			}
		}
	}
	k, ok := f.nameIdx[name]
	if ok && p != 0 {
		f.remember(p, k)
	}
	return k, ok
}

// remember puts address p for name index k into ptrs, which holds at
// most a quarter of its slots (a full table starts anew).
func (f *fleet) remember(p uintptr, k uint32) {
	if f.nptrs+1 > len(f.ptrs)/4 {
		size := 1024
		for size < 8*(len(f.names)+1) {
			size *= 2
		}
		if size > len(f.ptrs) {
			f.ptrs = make([]ptrIdx, size)
		} else {
			clear(f.ptrs)
		}
		f.nptrs = 0
	}
	mask := uintptr(len(f.ptrs) - 1)
	i := slot(p, mask)
	for f.ptrs[i].p != 0 && f.ptrs[i].p != p {
		i = (i + 1) & mask
	}
	if f.ptrs[i].p == 0 {
		f.nptrs++
	}
	f.ptrs[i] = ptrIdx{p: p, idx: k}
}

// slot is the first slot of address p in a table of mask+1 slots (a
// power of two): Fibonacci hashing.
func slot(p, mask uintptr) uintptr {
	return uintptr(uint64(p)*0x9E3779B97F4A7C15>>32) & mask
}

// ptrIdx is a slot of fleet.ptrs: the address of a name's bytes and the
// name's index; p is 0 in an empty slot.
type ptrIdx struct {
	p   uintptr
	idx uint32
}

// place makes posC and posS hold the positions of s's names (1 + the
// position, 0 for a name not in s), and filled cover s.
func (f *fleet) place(s *shape) {
	if f.placed == s {
		return
	}
	if p := f.placed; p != nil {
		for _, k := range p.keys {
			f.posC[k], f.posS[k] = 0, 0
		}
	}
	if len(f.posC) < len(f.names) {
		f.posC = slices.Grow(f.posC, len(f.names)-len(f.posC))[:len(f.names)]
		f.posS = slices.Grow(f.posS, len(f.names)-len(f.posS))[:len(f.names)]
	}
	for i, k := range s.keys {
		if i < s.nc {
			f.posC[k] = uint32(i + 1)
		} else {
			f.posS[k] = uint32(i + 1)
		}
	}
	if len(f.filled) < len(s.keys) {
		f.filled = make([]uint32, len(s.keys))
		f.stamp = 0
	}
	f.placed = s
}

// setSorted makes n hold order, order[:nc] counters and the rest stats,
// sorting each part by name: by the name written, a series' folded name
// (stat.Fold). A series whose folded name is not a valid name, or is
// another's of the same part, is left out.
func (f *fleet) setSorted(n *node, nc int, order []named) {
	for i := range order {
		order[i].idx = f.intern(order[i].name)
	}
	cmp := func(a, b named) int { return strings.Compare(f.folded[a.idx], f.folded[b.idx]) }
	slices.SortFunc(order[:nc], cmp)
	slices.SortFunc(order[nc:], cmp)
	if labelled(order) {
		counters, stats := f.foldable(order[:nc]), f.foldable(order[nc:])
		nc = len(counters)
		order = append(counters, stats...)
	}
	n.shape = f.shapeOf(nc, order)
	n.kinds = slices.Grow(n.kinds[:0], len(order))[:len(order)]
	n.vals = slices.Grow(n.vals[:0], len(order))[:len(order)]
	for i := range order {
		n.kinds[i], n.vals[i] = pack(order[i].v)
	}
}

// fill sets n's values from st if st has exactly the names of n's shape,
// the usual case: no sorting, no allocation.
func (f *fleet) fill(n *node, st sdk.Stats) bool {
	s := n.shape
	if s == nil || s.nc != len(st.Counters) || len(s.keys)-s.nc != len(st.Stats) {
		return false
	}
	for i, k := range s.keys[:s.nc] {
		v, ok := st.Counters[f.plain[k]]
		if !ok {
			return false
		}
		n.kinds[i], n.vals[i] = kindInt, uint64(v)
	}
	for i, k := range s.keys[s.nc:] {
		v, ok := st.Stats[f.plain[k]]
		if !ok {
			return false
		}
		n.kinds[s.nc+i], n.vals[s.nc+i] = pack(v)
	}
	return true
}

// labelled reports whether a name of order has labels.
func labelled(order []named) bool {
	for i := range order {
		if stat.HasLabels(order[i].name) {
			return true
		}
	}
	return false
}

// foldable returns sorted without the series whose folded name is not a
// valid name, or the same as the one before, in place.
func (fl *fleet) foldable(sorted []named) []named {
	out := sorted[:0]
	prev := ""
	for _, x := range sorted {
		f := fl.folded[x.idx]
		if stat.ValidName(f) != nil || (len(out) > 0 && f == prev) {
			continue
		}
		out = append(out, x)
		prev = f
	}
	return out
}

func pack(v sdk.Value) (uint8, uint64) {
	if i, ok := v.Int64(); ok {
		return kindInt, uint64(i)
	}
	if x, ok := v.Float64(); ok {
		return kindFloat, math.Float64bits(x)
	}
	return kindNull, 0
}

func unpack(kind uint8, bits uint64) snapshot.Value {
	switch kind {
	case kindInt:
		return snapshot.Int(int64(bits))
	case kindFloat:
		return snapshot.Float(math.Float64frombits(bits))
	}
	return snapshot.Null
}

// appendEntry appends n's entry as snapshot.AppendEntry does.
func (f *fleet) appendEntry(b []byte, id string, n *node) []byte {
	b = snapshot.AppendString(b, id)
	b = append(b, `: {"timestamp": `...)
	b = snapshot.Float(n.timestamp).AppendJSON(b)
	b = append(b, `, "nickname": `...)
	b = snapshot.AppendString(b, n.nickname)
	b = append(b, `, "stats": {"counters": `...)
	nc := 0
	if n.shape != nil {
		nc = n.shape.nc
		n.shape.gen = f.gen
	}
	b = f.appendValues(b, n, 0, nc)
	b = append(b, `, "stats": `...)
	b = f.appendValues(b, n, nc, len(n.vals))
	return append(b, "}}"...)
}

func (f *fleet) appendValues(b []byte, n *node, from, to int) []byte {
	b = append(b, '{')
	for i := from; i < to; i++ {
		if i > from {
			b = append(b, ", "...)
		}
		b = append(b, f.names[n.shape.keys[i]]...)
		b = append(b, ": "...)
		b = unpack(n.kinds[i], n.vals[i]).AppendJSON(b)
	}
	return append(b, '}')
}

// sweep drops the shapes no node had in the write of generation f.gen,
// and the names no shape has, once they are many, so that a fleet whose
// names change does not grow the model without bound; then starts the
// next generation.
func (f *fleet) sweep() {
	defer func() { f.gen++ }()
	// posC, posS and ptrs are by name index, which the sweep may
	// renumber.
	clear(f.posC)
	clear(f.posS)
	f.placed = nil
	clear(f.ptrs)
	f.nptrs = 0
	live := 0
	for _, s := range f.shapes {
		if s.gen == f.gen {
			live++
		}
	}
	if len(f.shapes) <= 2*live+f.slack {
		return
	}
	for k, s := range f.shapes {
		if s.gen != f.gen {
			delete(f.shapes, k)
		}
	}
	f.live = slices.Grow(f.live[:0], len(f.names))[:len(f.names)]
	clear(f.live)
	used := 0
	for _, s := range f.shapes {
		for _, k := range s.keys {
			if !f.live[k] {
				f.live[k] = true
				used++
			}
		}
	}
	if len(f.names) <= 2*used+64*f.slack {
		return
	}
	// Renumber the names in use; a shape's order (by name) is unchanged.
	f.remap = slices.Grow(f.remap[:0], len(f.names))[:len(f.names)]
	plain, folded, names := make([]string, 0, used), make([]string, 0, used), make([]string, 0, used)
	clear(f.nameIdx)
	for i, ok := range f.live {
		if ok {
			f.remap[i] = uint32(len(names))
			f.nameIdx[f.plain[i]] = uint32(len(names))
			plain, names = append(plain, f.plain[i]), append(names, f.names[i])
			folded = append(folded, f.folded[i])
		}
	}
	f.plain, f.folded, f.names = plain, folded, names
	// The map's keys are views of the shapes' words: rebuilt, not
	// updated.
	shapes := make([]*shape, 0, len(f.shapes))
	for _, s := range f.shapes {
		shapes = append(shapes, s)
	}
	f.shapes = make(map[string]*shape, len(shapes))
	for _, s := range shapes {
		for i, k := range s.keys {
			s.keys[i] = f.remap[k]
		}
		f.shapes[key(s.words)] = s
	}
}

// fromSnapshot fills a model with a parsed snapshot. The nodes and their
// values are carved out of a few large arrays, so that they do not end up
// scattered among the parse's garbage.
func fromSnapshot(snap snapshot.Snapshot) (*fleet, map[string]*node) {
	f := newFleet()
	nodes := make(map[string]*node, len(snap))
	total := 0
	for _, sn := range snap {
		total += len(sn.Counters) + len(sn.Stats)
	}
	slab := make([]node, len(snap))
	kinds, vals := make([]uint8, total), make([]uint64, total)
	for id, sn := range snap {
		n := &slab[0]
		slab = slab[1:]
		*n = node{nickname: sn.Nickname, timestamp: sn.Timestamp}
		f.order = f.order[:0]
		for k, v := range sn.Counters {
			f.order = append(f.order, named{name: k, v: v})
		}
		nc := len(f.order)
		for k, v := range sn.Stats {
			f.order = append(f.order, named{name: k, v: v})
		}
		l := len(f.order)
		n.kinds, n.vals = kinds[:0:l], vals[:0:l]
		kinds, vals = kinds[l:], vals[l:]
		f.setSorted(n, nc, f.order)
		nodes[strings.Clone(id)] = n
	}
	return f, nodes
}
