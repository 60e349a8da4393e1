package status

import (
	"bufio"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/statuspage"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// A node's page shows its current stats. The gatherer hands each round's
// answers to the outputs and keeps none (at 50,000 nodes two rounds of
// samples would be hundreds of MB), so a node's stats are kept only while
// its page is open: opening it watches the node for watchFor, and the
// rounds from then keep its last two samples (the rate of a counter is
// between them). At most maxWatched nodes are watched at once.

const (
	watchFor   = 10 * time.Minute
	maxWatched = 32
)

type watchList struct {
	n  atomic.Int32
	mu sync.Mutex
	m  map[string]*watched
}

type watched struct {
	until     time.Time
	cur, prev sdk.NodeSample // decoded
}

// watch watches node id until now+watchFor and returns its samples
// (zero: none yet); ok is false when too many nodes are watched.
func (l *watchList) watch(id string, now time.Time) (cur, prev sdk.NodeSample, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*watched{}
	}
	for k, w := range l.m {
		if now.After(w.until) {
			delete(l.m, k)
		}
	}
	w := l.m[id]
	if w == nil {
		if len(l.m) >= maxWatched {
			l.n.Store(int32(len(l.m)))
			return cur, prev, false
		}
		w = &watched{}
		l.m[id] = w
	}
	w.until = now.Add(watchFor)
	l.n.Store(int32(len(l.m)))
	return w.cur, w.prev, true
}

// offer keeps the samples of the watched nodes among a round's.
func (l *watchList) offer(nodes []sdk.NodeSample) {
	if l.n.Load() == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range nodes {
		w := l.m[n.ID]
		if w == nil {
			continue
		}
		d, err := daemon.Decoded(n)
		if err != nil {
			continue
		}
		w.prev, w.cur = w.cur, d
	}
}

// NodeStat is one stat on a node's page.
type NodeStat struct {
	Name string `json:"name"`
	// Labels are the stat's labels, where it has them.
	Labels map[string]string `json:"labels,omitempty"`
	Kind   string            `json:"kind"` // counter or stat
	Value  any               `json:"value"`
	// Rate is a counter's increase per second between the last two
	// rounds.
	Rate *float64 `json:"rate_per_second,omitempty"`
}

// NodeAnswer is one recent poll of a node.
type NodeAnswer struct {
	Round         time.Time `json:"round"`
	AnswerSeconds float64   `json:"answer_seconds,omitempty"`
	Failed        bool      `json:"failed,omitempty"`
}

// NodePage is a node's page.
type NodePage struct {
	FleetNode
	Enrolment string    `json:"enrolment_state,omitempty"` // as in nodes.json
	FirstSeen time.Time `json:"first_seen,omitzero"`
	// Command is the CLI command that changes the node's enrolment.
	Command string       `json:"command,omitempty"`
	Answers []NodeAnswer `json:"answers"`
	Errors  []trackError `json:"errors"`
	// StatsAt is the round of Stats; StatsNote says why there are none.
	StatsAt   time.Time  `json:"stats_at,omitzero"`
	StatsNote string     `json:"stats_note,omitempty"`
	Stats     []NodeStat `json:"stats"`
}

func (ps *Pages) nodePage(id string, now time.Time) (NodePage, bool) {
	var p NodePage
	found := false
	for _, f := range ps.fleet(now) {
		if f.ID == id {
			p.FleetNode, found = f, true
			break
		}
	}
	if !found {
		return p, false
	}
	if n, ok := ps.nodes.Lookup(id); ok {
		p.Enrolment, p.FirstSeen = n.State, n.FirstSeen
	}
	base := " -basedir " + ps.basedir
	switch p.Enrolment {
	case registry.StatePending:
		p.Command = "statsherd gatherer approve " + id + base
	case registry.StateEnrolled, "":
		p.Command = "statsherd gatherer revoke " + id + base
	case registry.StateRevoked:
		p.Command = "" // final for a key
	}
	p.Answers, p.Errors = []NodeAnswer{}, []trackError{}
	if t := ps.tracks.lookup(id); t != nil {
		for _, a := range t.history() {
			na := NodeAnswer{Round: time.Unix(int64(a.at), 0), Failed: math.IsNaN(float64(a.took))}
			if !na.Failed {
				na.AnswerSeconds = float64(a.took) / 1000
			}
			p.Answers = append(p.Answers, na)
		}
		p.Errors = t.recentErrors()
	}
	p.Stats = []NodeStat{}
	if p.State != FleetConnected {
		p.StatsNote = "not connected: no current stats"
		return p, true
	}
	cur, prev, ok := ps.watch.watch(id, now)
	switch {
	case !ok:
		p.StatsNote = "too many node pages are open; stats are kept for at most 32 nodes at once"
	case cur.ID == "":
		p.StatsNote = "the gatherer keeps no stats between rounds: they show from the next round on (polled every " + ps.poll.String() + ")"
	default:
		p.StatsAt = cur.Timestamp
		p.Stats = nodeStats(cur, prev)
	}
	return p, true
}

// nodeStats lists cur's stats, with the rate of each counter since prev.
func nodeStats(cur, prev sdk.NodeSample) []NodeStat {
	out := make([]NodeStat, 0, cur.Stats.Len())
	dt := cur.Timestamp.Sub(prev.Timestamp).Seconds()
	for k, v := range cur.Stats.Counters {
		s := NodeStat{Name: k, Kind: "counter", Value: v}
		if old, ok := prev.Stats.Counters[k]; ok && prev.ID != "" && dt > 0 && v >= old {
			r := float64(v-old) / dt
			s.Rate = &r
		}
		out = append(out, s)
	}
	for k, v := range cur.Stats.Stats {
		var val any = v.String()
		if i, ok := v.Int64(); ok {
			val = i
		} else if f, ok := v.Float64(); ok {
			val = f
		} else {
			val = nil
		}
		out = append(out, NodeStat{Name: k, Kind: "stat", Value: val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// serveNode answers /node/ID.
func (ps *Pages) serveNode(w http.ResponseWriter, r *http.Request, id string) {
	if !registry.ValidNodeID(id) {
		http.Error(w, "not a node id (32 lowercase base32 characters): see the fleet view at /", http.StatusNotFound)
		return
	}
	now := time.Now()
	p, ok := ps.nodePage(id, now)
	if !ok {
		http.Error(w, "node "+id+" is not known to this gatherer: see the fleet view at /", http.StatusNotFound)
		return
	}
	if statuspage.WantsJSON(r) {
		statuspage.WriteJSON(w, p)
		return
	}
	statuspage.HTMLHeaders(w)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	l := ps.layout("node "+p.Nickname, "?t=json")
	l.Head(bw)
	var pts []statuspage.Point
	for _, a := range p.Answers {
		if a.Failed {
			// A gap in the line.
			pts = append(pts, statuspage.Point{T: a.Round, V: nan})
			continue
		}
		pts = append(pts, statuspage.Point{T: a.Round, V: a.AnswerSeconds * 1000})
	}
	plot := statuspage.Plot{Title: "answer time, last " + strconv.Itoa(trackAnswers) + " rounds", Unit: " ms", Width: 640, Height: 150,
		Series: []statuspage.Series{{Name: "answer time", Points: pts}}}
	if err := nodeTmpl().Execute(bw, struct {
		NodePage
		Plot template.HTML
		Now  time.Time
	}{p, plot.SVG(), now}); err != nil {
		ps.log.Warn("writing node page", "error", err)
	}
	l.Foot(bw)
}

// nodeTmpl is parsed at first use (see statuspage's templates): the
// host and its built-ins' process link this package too.
var nodeTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("node").Funcs(funcs).Funcs(template.FuncMap{
		"ms": ms, "bytes": bytesOf,
		"val": func(v any) string {
			switch x := v.(type) {
			case nil:
				return "null"
			case float64:
				return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(x, 'f', 6, 64), "0"), ".")
			}
			return fmt.Sprint(v)
		},
		"rate": func(r *float64) string {
			if r == nil {
				return ""
			}
			return statuspage.Num(*r) + "/s"
		},
	}).Parse(`<div class="card"><dl class="kv">
<dt>nickname</dt><dd><b>{{if .Nickname}}{{.Nickname}}{{else}}unknown{{end}}</b></dd>
<dt>node id</dt><dd class="id">{{.ID}}</dd>
<dt>state</dt><dd><span class="st st-{{.State}}">{{.State}}</span>{{if not .Since.IsZero}} since {{ago .Since}} ago ({{.Since.UTC.Format "2006-01-02 15:04:05"}} UTC){{end}}</dd>
<dt>enrolment</dt><dd>{{if .Enrolment}}{{.Enrolment}}{{else}}not in the node list{{end}}{{if not .FirstSeen.IsZero}}, first seen {{.FirstSeen.UTC.Format "2006-01-02 15:04:05"}} UTC{{end}}</dd>
<dt>{{if eq .Enrolment "pending"}}to approve{{else if .Command}}to revoke{{else}}to change{{end}}</dt><dd>{{if .Command}}<code>{{.Command}}</code>{{else}}revocation is final for a key: the node needs a new key (delete its node.key){{end}}</dd>
<dt>address</dt><dd>{{.Address}}</dd>
<dt>version</dt><dd>{{.Version}}</dd>
<dt>last answer</dt><dd>{{if not .LastAnswer.IsZero}}{{ago .LastAnswer}} ago, in {{ms .AnswerSeconds}}, {{.FleetNode.Stats}} stats, {{bytes .AnswerBytes}}{{else}}none{{end}}</dd>
{{if .Note}}<dt>note</dt><dd class="err">{{.Note}}</dd>{{end}}
</dl></div>
<div class="plots"><div><h2>Recent answers</h2>{{.Plot}}</div>
<div><h2>Recent errors</h2>
{{if .Errors}}<table class="fit" id="errors"><tr><th>when</th><th>error</th></tr>{{range .Errors}}<tr><td>{{ago .At}} ago</td><td class="w err">{{.Err}}</td></tr>{{end}}</table>{{else}}<p class="mute">none since the gatherer started</p>{{end}}</div></div>
<h2>Current stats{{if not .StatsAt.IsZero}} <span class="mute">(round at {{.StatsAt.UTC.Format "15:04:05"}} UTC)</span>{{end}}</h2>
{{if .StatsNote}}<p class="mute" id="stats-note">{{.StatsNote}}</p>{{end}}
{{if .Stats}}<table id="stats" class="fit"><thead><tr><th>name</th><th>labels</th><th>kind</th><th class="n">value</th><th class="n">rate (last two rounds)</th></tr></thead><tbody>
{{range .Stats}}<tr><td class="id">{{.Name}}</td><td class="mute">{{range $k, $v := .Labels}}{{$k}}="{{$v}}" {{end}}</td><td>{{.Kind}}</td><td class="n">{{val .Value}}</td><td class="n">{{rate .Rate}}</td></tr>
{{end}}</tbody></table>{{end}}
`))
})

var nan = math.NaN()
