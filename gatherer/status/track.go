package status

import (
	"math"
	"sort"
	"sync"
	"time"
)

// What the status page knows of a node beyond nodes.json: its last
// answers (time, size, stats), its recent errors, when and why it was
// lost or refused. A track outlives the node's connection (a lost node
// shows since when and why), and is dropped with the node when the
// registry forgets it; its size is fixed (trackAnswers answers,
// trackErrors errors): 872 bytes and its strings (address, version,
// errors), about 1 KB, so 50,000 nodes cost ≈ 50 MB.

// trackAnswers is the answers kept per node: an hour at the default
// poll interval of 60 s.
const trackAnswers = 60

// trackErrors is the errors kept per node.
const trackErrors = 5

// maxRefusedTracks bounds the tracks of nodes that are not in the node
// list (refused before they enrolled: wrong secret, not on the
// allowlist, too many nodes): a peer making new keys cannot grow them.
const maxRefusedTracks = 1000

// answerPoint is one poll of a node: when, how long until its answer, and
// whether it failed.
type answerPoint struct {
	at   uint32  // unix seconds of the round's start
	took float32 // milliseconds from the round's start to the answer; NaN: failed
}

// trackError is one error of a node.
type trackError struct {
	At  time.Time `json:"at"`
	Err string    `json:"error"`
}

type Track struct {
	mu      sync.Mutex
	addr    string
	version string
	// The last answer.
	lastAnswer time.Time
	took       time.Duration
	stats      int
	size       int
	answers    [trackAnswers]answerPoint
	nAnswers   int // answers stored, up to trackAnswers
	next       int // where the next answer goes
	errors     [trackErrors]trackError
	nErrors    int
	// lost is when the connection ended (zero while connected).
	lost time.Time
	// refused is the last refusal of this node's key, and why.
	refused       time.Time
	refusedKind   string
	refusedReason string
}

// Answer records a poll of the node: took from the round's start, and
// the answer's stats and bytes (err: the poll failed).
func (t *Track) Answer(start time.Time, at time.Time, stats, size int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := answerPoint{at: uint32(start.Unix()), took: float32(math.NaN())}
	if err == nil {
		t.lastAnswer, t.took, t.stats, t.size = at, at.Sub(start), stats, size
		p.took = float32(at.Sub(start).Seconds() * 1000)
	} else {
		t.addError(start, err.Error())
	}
	t.answers[t.next] = p
	t.next = (t.next + 1) % trackAnswers
	t.nAnswers = min(t.nAnswers+1, trackAnswers)
}

// addError records an error (t.mu held).
func (t *Track) addError(at time.Time, msg string) {
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	copy(t.errors[1:], t.errors[:trackErrors-1])
	t.errors[0] = trackError{At: at, Err: msg}
	t.nErrors = min(t.nErrors+1, trackErrors)
}

// history returns the answers kept, oldest first.
func (t *Track) history() []answerPoint {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]answerPoint, 0, t.nAnswers)
	for i := range t.nAnswers {
		out = append(out, t.answers[(t.next-t.nAnswers+i+trackAnswers)%trackAnswers])
	}
	return out
}

// recentErrors returns the errors kept, newest first.
func (t *Track) recentErrors() []trackError {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]trackError(nil), t.errors[:t.nErrors]...)
}

// trackView is a copy of a track's figures, for the fleet list.
type trackView struct {
	addr, version                  string
	lastAnswer, lost, refused      time.Time
	took                           time.Duration
	stats, size                    int
	lastError, refusedKind, reason string
}

func (t *Track) view() trackView {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := trackView{addr: t.addr, version: t.version, lastAnswer: t.lastAnswer, lost: t.lost, refused: t.refused,
		took: t.took, stats: t.stats, size: t.size, refusedKind: t.refusedKind, reason: t.refusedReason}
	if t.nErrors > 0 {
		v.lastError = t.errors[0].Err
	}
	return v
}

// tracks are the tracks of every node the gatherer has seen since it
// started, by node id.
type tracks struct {
	mu sync.Mutex
	m  map[string]*Track
	// unlisted are the tracks of keys refused and never in the node
	// list nor connected: at most maxRefusedTracks.
	unlisted map[string]bool
}

// get returns node id's track, made if need be.
func (ts *tracks) get(id string) *Track {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil {
		ts.m = map[string]*Track{}
	}
	t := ts.m[id]
	if t == nil {
		t = &Track{}
		ts.m[id] = t
	}
	delete(ts.unlisted, id)
	return t
}

// lookup returns node id's track, or nil.
func (ts *tracks) lookup(id string) *Track {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.m[id]
}

// refused records a refusal of node id's key. A node not listed gets a
// track only while fewer than maxRefusedTracks such exist.
func (ts *tracks) refused(id, addr, kind, reason string, listed bool, now time.Time) {
	ts.mu.Lock()
	if ts.m == nil {
		ts.m = map[string]*Track{}
	}
	t := ts.m[id]
	if t == nil {
		if !listed && len(ts.unlisted) >= maxRefusedTracks {
			ts.mu.Unlock()
			return
		}
		t = &Track{}
		if !listed {
			if ts.unlisted == nil {
				ts.unlisted = map[string]bool{}
			}
			ts.unlisted[id] = true
		}
		ts.m[id] = t
	}
	ts.mu.Unlock()
	t.mu.Lock()
	t.refused, t.refusedKind, t.refusedReason = now, kind, reason
	if addr != "" {
		t.addr = addr
	}
	t.addError(now, "refused ("+kind+"): "+reason)
	t.mu.Unlock()
}

// prune drops the tracks of nodes neither known nor connected, except
// the newest maxRefusedTracks refused ones.
func (ts *tracks) prune(keep func(id string) bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	type old struct {
		id string
		at time.Time
	}
	var refused []old
	for id, t := range ts.m {
		if keep(id) {
			continue
		}
		t.mu.Lock()
		at := t.refused
		t.mu.Unlock()
		if at.IsZero() {
			delete(ts.m, id)
			continue
		}
		refused = append(refused, old{id, at})
	}
	sort.Slice(refused, func(i, j int) bool { return refused[i].at.After(refused[j].at) })
	for i, o := range refused {
		if i >= maxRefusedTracks {
			delete(ts.m, o.id)
		}
	}
	for id := range ts.unlisted {
		if ts.m[id] == nil || keep(id) {
			delete(ts.unlisted, id)
		}
	}
}
