package status

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/statsherd/statsherd/gatherer/registry"
)

// The fleet view: every node the gatherer knows (nodes.json), every host
// connected, and the keys refused recently, each in one state.

// Fleet states, as the page shows them.
const (
	FleetConnected = "connected"
	FleetLost      = "lost"
	FleetPending   = "pending"
	FleetRevoked   = "revoked"
	FleetRefused   = "refused"
)

// fleetStates are the states in the order the page counts them.
var fleetStates = []string{FleetConnected, FleetLost, FleetPending, FleetRevoked, FleetRefused}

// FleetNode is one node of the fleet view.
type FleetNode struct {
	ID       string `json:"id"`
	Nickname string `json:"nickname"`
	State    string `json:"state"`
	Address  string `json:"address,omitempty"`
	Version  string `json:"version,omitempty"`
	// Since is when the node entered its state: connected, lost,
	// pending or revoked since, refused at.
	Since      time.Time `json:"since,omitzero"`
	LastAnswer time.Time `json:"last_answer,omitzero"`
	// AnswerSeconds is from its last answered round's start to the
	// answer; Stats and AnswerBytes are that answer's.
	AnswerSeconds float64 `json:"answer_seconds,omitempty"`
	Stats         int     `json:"stats,omitempty"`
	AnswerBytes   int     `json:"answer_bytes,omitempty"`
	// Note is why: the refusal's reason, or the last error.
	Note string `json:"note,omitempty"`
}

// FleetPage is one page of the fleet view and the counts of every state.
type FleetPage struct {
	// Counts are the nodes in each state, filters aside.
	Counts map[string]int `json:"counts"`
	Total  int            `json:"total"`
	// Matching is the nodes the filter keeps; Nodes are those of the page.
	Matching int         `json:"matching"`
	Query    FleetQuery  `json:"query"`
	Nodes    []FleetNode `json:"nodes"`
}

// FleetQuery is the view's sort, filter and page, from the URL:
// sort=state|name|id|address|version|age|answer|stats|size (desc=1
// reverses), state=STATE, q=TEXT (in nickname, node id or address),
// page=P (from 1), n=N per page (default 100, at most 10,000).
type FleetQuery struct {
	Sort  string `json:"sort"`
	Desc  bool   `json:"desc"`
	State string `json:"state,omitempty"`
	Text  string `json:"q,omitempty"`
	Page  int    `json:"page"`
	Per   int    `json:"per_page"`
}

const (
	defaultPerPage = 100
	maxPerPage     = 10000
)

var fleetSorts = []string{"state", "name", "id", "address", "version", "age", "answer", "stats", "size"}

func parseFleetQuery(v url.Values) FleetQuery {
	q := FleetQuery{Sort: v.Get("sort"), Desc: v.Get("desc") == "1", State: v.Get("state"), Text: strings.TrimSpace(v.Get("q"))}
	if !slices.Contains(fleetSorts, q.Sort) {
		q.Sort = "state"
	}
	if !slices.Contains(fleetStates, q.State) {
		q.State = ""
	}
	if len(q.Text) > 200 {
		q.Text = strings.TrimSpace(strings.ToValidUTF8(q.Text[:200], ""))
	}
	q.Page, _ = strconv.Atoi(v.Get("page"))
	q.Page = max(q.Page, 1)
	q.Per, _ = strconv.Atoi(v.Get("n"))
	if q.Per <= 0 {
		q.Per = defaultPerPage
	}
	q.Per = min(q.Per, maxPerPage)
	return q
}

// values is q as URL values, with changes.
func (q FleetQuery) url(change ...string) string {
	v := url.Values{}
	set := func(k, val, def string) {
		if val != def {
			v.Set(k, val)
		}
	}
	set("sort", q.Sort, "state")
	if q.Desc {
		v.Set("desc", "1")
	}
	set("state", q.State, "")
	set("q", q.Text, "")
	set("page", strconv.Itoa(q.Page), "1")
	set("n", strconv.Itoa(q.Per), strconv.Itoa(defaultPerPage))
	for i := 0; i+1 < len(change); i += 2 {
		if change[i+1] == "" {
			v.Del(change[i])
		} else {
			v.Set(change[i], change[i+1])
		}
	}
	if len(v) == 0 {
		return "./"
	}
	return "?" + v.Encode()
}

// fleet returns every node the gatherer knows of, unsorted. It holds the
// node list's lock while it reads it (≈ 20 ms at 50,000 nodes): a host's
// handshake waits that long for its admission.
func (ps *Pages) fleet(now time.Time) []FleetNode {
	conns := ps.src.Conns()
	ts := &ps.tracks
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []FleetNode
	ps.nodes.Locked(func(nodes map[string]*registry.Node) { out = fleetNodes(nodes, conns, ts) })
	return out
}

// fleetNodes is the fleet view of the node list, the connected hosts and
// the tracks (ts.mu held).
func fleetNodes(nodes map[string]*registry.Node, conns map[string]Conn, ts *tracks) []FleetNode {
	out := make([]FleetNode, 0, len(nodes)+len(conns)+len(ts.unlisted))
	for id, n := range nodes {
		out = append(out, FleetNode{ID: id, Nickname: n.Nickname, State: n.State, Address: n.LastAddress, Since: n.Changed, LastAnswer: n.LastSeen})
		f := &out[len(out)-1]
		var t trackView
		tp := ts.m[id]
		if tp != nil {
			t = tp.view()
			f.fill(t)
		}
		c, connected := conns[id]
		switch f.State {
		case registry.StateEnrolled:
			if connected {
				f.State, f.Since, f.Address = FleetConnected, c.Since, c.Addr
				if tp != nil && t.lastAnswer.IsZero() {
					f.LastAnswer = time.Time{}
				}
			} else {
				f.State = FleetLost
				switch {
				case tp != nil && !t.lost.IsZero():
					f.Since = t.lost
				case !f.LastAnswer.IsZero():
					f.Since = f.LastAnswer
				}
			}
		case registry.StatePending, registry.StateRevoked:
			// Seen (nodes.json's last_seen), but never answered since.
			f.State, f.LastAnswer = FleetPending, t.lastAnswer
			if n.State == registry.StateRevoked {
				f.State = FleetRevoked
			}
		}
		if f.State != FleetConnected && f.State != FleetLost && tp != nil && t.refused.After(f.Since) {
			f.Note = t.refusedKind + ": " + t.reason
		}
	}
	// Connected before their first answer (open enrolment): not yet
	// in the node list.
	for id, c := range conns {
		if nodes[id] != nil {
			continue
		}
		f := FleetNode{ID: id, Nickname: c.Nickname, State: FleetConnected, Address: c.Addr, Since: c.Since}
		if t := ts.m[id]; t != nil {
			f.fill(t.view())
		}
		out = append(out, f)
	}
	// Refused keys never listed.
	for id := range ts.unlisted {
		tp := ts.m[id]
		if tp == nil || nodes[id] != nil {
			continue
		}
		if _, ok := conns[id]; ok {
			continue
		}
		t := tp.view()
		out = append(out, FleetNode{ID: id, State: FleetRefused, Address: t.addr, Since: t.refused, Note: t.refusedKind + ": " + t.reason})
	}
	return out
}

// fill copies a track's figures into f.
func (f *FleetNode) fill(t trackView) {
	if t.addr != "" {
		f.Address = t.addr
	}
	f.Version = t.version
	if !t.lastAnswer.IsZero() {
		f.LastAnswer = t.lastAnswer
		f.AnswerSeconds, f.Stats, f.AnswerBytes = t.took.Seconds(), t.stats, t.size
	}
	f.Note = t.lastError
}

// stateRank orders the states: those that need an operator first.
func stateRank(s string) int {
	switch s {
	case FleetLost:
		return 0
	case FleetPending:
		return 1
	case FleetRefused:
		return 2
	case FleetConnected:
		return 3
	}
	return 4
}

// fleetPage sorts, filters and pages nodes (which it reorders).
func fleetPage(nodes []FleetNode, q FleetQuery) FleetPage {
	p := FleetPage{Counts: make(map[string]int, len(fleetStates)), Total: len(nodes), Query: q}
	for _, s := range fleetStates {
		p.Counts[s] = 0
	}
	// Sorted by pointer: a FleetNode is large to move.
	kept := make([]*FleetNode, 0, len(nodes))
	text := strings.ToLower(q.Text)
	for i := range nodes {
		n := &nodes[i]
		p.Counts[n.State]++
		if q.State != "" && n.State != q.State {
			continue
		}
		if text != "" && !strings.Contains(strings.ToLower(n.Nickname), text) && !strings.HasPrefix(n.ID, text) && !strings.HasPrefix(n.Address, text) {
			continue
		}
		kept = append(kept, n)
	}
	p.Matching = len(kept)
	var key func(a, b *FleetNode) int
	switch q.Sort {
	case "name":
		key = func(a, b *FleetNode) int { return 0 }
	case "id":
		key = func(a, b *FleetNode) int { return strings.Compare(a.ID, b.ID) }
	case "address":
		key = func(a, b *FleetNode) int { return strings.Compare(a.Address, b.Address) }
	case "version":
		key = func(a, b *FleetNode) int { return strings.Compare(a.Version, b.Version) }
	case "age":
		// Oldest answer first: the quiet ones.
		key = func(a, b *FleetNode) int { return a.LastAnswer.Compare(b.LastAnswer) }
	case "answer":
		key = func(a, b *FleetNode) int { return cmp.Compare(b.AnswerSeconds, a.AnswerSeconds) }
	case "stats":
		key = func(a, b *FleetNode) int { return cmp.Compare(b.Stats, a.Stats) }
	case "size":
		key = func(a, b *FleetNode) int { return cmp.Compare(b.AnswerBytes, a.AnswerBytes) }
	default:
		key = func(a, b *FleetNode) int { return cmp.Compare(stateRank(a.State), stateRank(b.State)) }
	}
	slices.SortFunc(kept, func(a, b *FleetNode) int {
		c := key(a, b)
		if c == 0 {
			c = strings.Compare(a.Nickname, b.Nickname)
		}
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if q.Desc {
			return -c
		}
		return c
	})
	from := min((q.Page-1)*q.Per, len(kept))
	page := kept[from:min(from+q.Per, len(kept))]
	p.Nodes = make([]FleetNode, len(page))
	for i, n := range page {
		p.Nodes[i] = *n
	}
	return p
}

// pages is the number of pages of the view.
func (p FleetPage) pages() int { return max(1, (p.Matching+p.Query.Per-1)/p.Query.Per) }
