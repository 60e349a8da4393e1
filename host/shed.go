package host

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/sdk"
)

// A gatherer refuses a whole answer over its quotas (max_stats_per_node,
// max_message_size), and then keeps the node's last sample: any local
// user sending enough statsd names would take the node off the graphs.
// So the host never sends more than its gatherer says it takes (Welcome):
// it sheds the stats of lowest priority itself. statsd names go first,
// the newest first (the names a flood adds are the newest); then the
// stats of registered programs and of producers, the last source first;
// the host's own stats (statsherd.*, parts[0]) are never shed, nor are
// these figures of shedding, which are among them. A name that is not
// UTF-8 (from a registered program or a producer) is always left out and
// counted here: it cannot be encoded, and would cost the whole answer.
//
//	statsherd.shed_stats   stat     stats left out of the last answer
//	statsherd.shed         counter  stats left out since start

// shedSlack is what an answer's message adds to the stats' encoding
// (the answer's id, tags and lengths), with room to spare.
const shedSlack = 256

// shedNameCost bounds what a stat costs in an answer's encoding besides
// its name: the name's tag and length, its value (a varint or a double)
// and, in a packed list of values, its share.
const shedNameCost = 16

// shedReserve is room kept for the figures of shedding themselves.
const shedReserve = 2

// shedLog is what the host has shed, for its stats and log.
type shedLog struct {
	mu      sync.Mutex
	total   int64
	last    int
	logged  time.Time
	loggedN int
}

// shedTo removes from out (merged from parts) the stats beyond lim, in
// the order above, and counts and logs what it removed; with no quotas
// (lim zero) it only adds the figures of shedding.
func (h *Host) shedTo(out sdk.Stats, parts []part, lim link.Limits) {
	shed := map[string]int{}
	// A name that is not UTF-8 cannot be encoded (protobuf strings are
	// UTF-8): it would make the whole answer fail, so it alone goes
	// (issue 25).
	for k := range out.Counters {
		if !utf8.ValidString(k) {
			delete(out.Counters, k)
			shed["names not UTF-8"]++
		}
	}
	for k := range out.Stats {
		if !utf8.ValidString(k) {
			delete(out.Stats, k)
			shed["names not UTF-8"]++
		}
	}
	count := len(out.Counters) + len(out.Stats) + shedReserve
	size := shedSlack + shedReserve*64
	for k := range out.Counters {
		size += len(k) + shedNameCost
	}
	for k := range out.Stats {
		size += len(k) + shedNameCost
	}
	over := func() bool {
		return lim.MaxStats > 0 && (count > lim.MaxStats || size > lim.MaxMessageSize)
	}
	if over() {
		drop := func(source, k string) {
			if _, ok := out.Counters[k]; ok {
				delete(out.Counters, k)
			} else if _, ok := out.Stats[k]; ok {
				delete(out.Stats, k)
			} else {
				return
			}
			count--
			size -= len(k) + shedNameCost
			shed[source]++
		}
		// Sources from the last (statsd) to the first after the host's
		// own; a name is shed only from the source whose value was
		// kept (the first that has it).
		for i := len(parts) - 1; i >= 1 && over(); i-- {
			names := ownedNames(parts, i)
			if parts[i].source == "statsd" {
				h.newestFirst(names)
			} else {
				slices.SortFunc(names, func(a, b string) int { return strings.Compare(b, a) })
			}
			for _, k := range names {
				if !over() {
					break
				}
				drop(parts[i].source, k)
			}
		}
	}
	n := 0
	for _, c := range shed {
		n += c
	}
	h.shed.mu.Lock()
	if lim.MaxStats <= 0 {
		// No quotas (the status page, --once): the figures as they are.
		if n > 0 && time.Since(h.shed.logged) >= time.Minute {
			h.shed.logged = time.Now()
			h.log.Warn("stat names that are not UTF-8 left out (logged at most once a minute)", "count", n)
		}
		out.Stats["statsherd.shed_stats"] = sdk.Int(int64(h.shed.last))
		out.Counters["statsherd.shed"] = h.shed.total
		h.shed.mu.Unlock()
		return
	}
	h.shed.total += int64(n)
	out.Stats["statsherd.shed_stats"] = sdk.Int(int64(n))
	out.Counters["statsherd.shed"] = h.shed.total
	prev := h.shed.last
	h.shed.last = n
	logNow := n > 0 && (prev == 0 || time.Since(h.shed.logged) >= time.Minute || n > 2*h.shed.loggedN)
	if logNow {
		h.shed.logged, h.shed.loggedN = time.Now(), n
	}
	h.shed.mu.Unlock()
	switch {
	case logNow:
		args := []any{"shed", n, "max_stats", lim.MaxStats, "max_message_size", lim.MaxMessageSize}
		for _, src := range slices.Sorted(maps.Keys(shed)) {
			args = append(args, "from "+src, shed[src])
		}
		h.log.Warn("answer over the gatherer's quotas: stats shed (statsd names first, newest first; logged at most once a minute)", args...)
	case n == 0 && prev > 0:
		h.log.Info("answer within the gatherer's quotas again: nothing shed")
	}
}

// ownedNames are the names of parts[i] that no earlier part has (those
// it contributed to the merged answer).
func ownedNames(parts []part, i int) []string {
	var names []string
	add := func(k string, counter bool) {
		for _, p := range parts[:i] {
			var ok bool
			if counter {
				_, ok = p.stats.Counters[k]
			} else {
				_, ok = p.stats.Stats[k]
			}
			if ok {
				return
			}
		}
		names = append(names, k)
	}
	for k := range parts[i].stats.Counters {
		add(k, true)
	}
	for k := range parts[i].stats.Stats {
		add(k, false)
	}
	return names
}

// newestFirst sorts statsd's names by when their name was first
// received, newest first, the names of one summary together.
func (h *Host) newestFirst(names []string) {
	bases, born := h.store.BornOf(names)
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(born[b], born[a]); c != 0 {
			return c
		}
		if c := strings.Compare(bases[b], bases[a]); c != 0 {
			return c
		}
		return strings.Compare(names[a], names[b])
	})
	sorted := make([]string, len(names))
	for i, j := range idx {
		sorted[i] = names[j]
	}
	copy(names, sorted)
}
