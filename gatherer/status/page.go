package status

import (
	"bufio"
	"errors"
	"html/template"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/fanout"
	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/statuspage"
	"github.com/statsherd/statsherd/sdk"
)

// The status page's views, each with its JSON twin (?t=json):
//
//	/              the gatherer, the fleet's counts and health of the last
//	               hour, and the fleet view (sort, filter, page)
//	/health        the fleet's health: the last hour and the last 24 hours
//	/node/ID       one node: state, answers, errors, current stats
//
// Nothing on them reveals the furl's secret (Status.Furl is redacted).

// Pages are the status pages, and what the gatherer keeps for them.
type Pages struct {
	tracks  tracks
	history *fleetHistory
	watch   watchList
	rounds  atomic.Int64 // rounds recorded, to prune tracks now and then

	src      Source
	nodes    *registry.Registry
	refusals *refusal.Tally
	nickname string
	basedir  string
	poll     time.Duration
	log      hclog.Logger
}

// Source is what the pages read of the running gatherer.
type Source struct {
	// Status is the gatherer's status, with or without the host list.
	Status func(withHosts bool) Status
	// Conns are the connected hosts, by node id.
	Conns func() map[string]Conn
	// Connected reports whether node id is connected.
	Connected func(id string) bool
}

// Conn is what the fleet view needs of a connected host.
type Conn struct {
	Nickname, Addr string
	Since          time.Time
}

// New makes the pages of the gatherer cfg describes, whose node list is
// nodes and whose refusals are counted by refusals.
func New(cfg *config.Gatherer, nodes *registry.Registry, refusals *refusal.Tally, src Source, log hclog.Logger) *Pages {
	return &Pages{history: newFleetHistory(cfg.PollInterval), src: src, nodes: nodes, refusals: refusals,
		nickname: cfg.Nickname, basedir: cfg.Basedir, poll: cfg.PollInterval, log: log}
}

// Track returns node id's track, made if need be: a host's, from its
// registration on.
func (ps *Pages) Track(id string) *Track { return ps.tracks.get(id) }

// Connected is called when the host of track t is registered.
func (t *Track) Connected(addr string, versions map[string]string) {
	t.mu.Lock()
	t.addr, t.version, t.lost = addr, versionOf(versions), time.Time{}
	t.mu.Unlock()
}

// Disconnected is called when the connection of t's host is over; err
// is why (nil, net.ErrClosed: closed by the gatherer). t may be nil.
func (t *Track) Disconnected(err error) {
	if t == nil {
		return
	}
	now := time.Now()
	t.mu.Lock()
	t.lost = now
	switch {
	case err == nil || errors.Is(err, net.ErrClosed):
	case errors.Is(err, io.EOF):
		t.addError(now, "disconnected: the host closed the connection")
	default:
		t.addError(now, "disconnected: "+err.Error())
	}
	t.mu.Unlock()
}

// Refused records a refused peer whose key is known.
func (ps *Pages) Refused(kind, addr, nodeID, reason string) {
	if nodeID == "" || !registry.ValidNodeID(nodeID) {
		return
	}
	listed := ps.nodes.Listed(nodeID)
	ps.tracks.refused(nodeID, addr, kind, reason, listed, time.Now())
}

// Round records a round: its summary, and the samples of the nodes
// whose page is open; outputs are the outputs' status after it.
func (ps *Pages) Round(start time.Time, hosts, answers, failures int, took time.Duration, outputs []fanout.Status, nodes []sdk.NodeSample) {
	writes := make([]float64, 0, len(outputs))
	names := make([]string, 0, len(outputs))
	for _, st := range outputs {
		writes = append(writes, st.WriteSecs)
		names = append(names, st.Name)
	}
	ps.history.mu.Lock()
	ps.history.outputs = names
	ps.history.mu.Unlock()
	ps.history.record(start, hosts, answers, failures, took, writes, ps.refusals.Counts())
	ps.watch.offer(nodes)
	if ps.rounds.Add(1)%60 == 0 {
		ps.tracks.prune(func(id string) bool {
			return ps.nodes.Listed(id) || ps.src.Connected(id)
		})
	}
}

// versionOf is the version a host reports: statsherd's, else the first.
func versionOf(v map[string]string) string {
	if s, ok := v["statsherd"]; ok {
		return s
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0] + " " + v[keys[0]]
}

// ServeHTTP serves the status page's views.
func (ps *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/":
		ps.serveOverview(w, r)
	case r.URL.Path == "/health":
		ps.serveHealth(w, r)
	case strings.HasPrefix(r.URL.Path, "/node/"):
		ps.serveNode(w, r, strings.TrimPrefix(r.URL.Path, "/node/"))
	default:
		http.NotFound(w, r)
	}
}

// refreshMS is how often a page refreshes itself: each poll interval,
// within 2 s to 60 s.
func (ps *Pages) refreshMS() int {
	return int(min(max(ps.poll, 2*time.Second), time.Minute) / time.Millisecond)
}

func (ps *Pages) layout(title, json string) statuspage.Layout {
	return statuspage.Layout{Title: title, Daemon: "gatherer " + ps.nickname, RefreshMS: ps.refreshMS(), JSON: json,
		Nav: [][2]string{{"fleet", "/"}, {"health", "/health"}}}
}

// serveOverview answers /: with ?t=json the Status (hosts=0 leaves the
// host list out) with the fleet view's page (fleet=0 leaves it out: a
// monitor or the load tool reading the figures every few seconds then
// costs the gatherer no walk over its nodes).
func (ps *Pages) serveOverview(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	q := parseFleetQuery(r.URL.Query())
	json := statuspage.WantsJSON(r)
	s := ps.src.Status(json && r.URL.Query().Get("hosts") != "0")
	if json && r.URL.Query().Get("fleet") == "0" {
		statuspage.WriteJSON(w, s)
		return
	}
	fp := fleetPage(ps.fleet(now), q)
	if json {
		s.Fleet = &fp
		statuspage.WriteJSON(w, s)
		return
	}
	statuspage.HTMLHeaders(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	l := ps.layout("fleet", q.url("t", "json"))
	l.Head(bw)
	hist := ps.history.snapshot(now)
	if err := overviewTop().Execute(bw, overviewData{Status: s, Fleet: fp, Plots: hourPlots(hist, now, 440), Now: now}); err != nil {
		ps.log.Warn("writing status page", "error", err)
		return
	}
	writeFleetTable(bw, fp, now)
	if err := overviewBottom().Execute(bw, s); err != nil {
		ps.log.Warn("writing status page", "error", err)
	}
	l.Foot(bw)
}

type overviewData struct {
	Status
	Fleet FleetPage
	Plots []template.HTML
	Now   time.Time
}

func (d overviewData) States() []stateCount {
	out := make([]stateCount, 0, len(fleetStates)+1)
	out = append(out, stateCount{"all", d.Fleet.Total, d.Fleet.Query.url("state", "", "page", ""), d.Fleet.Query.State == ""})
	for _, s := range fleetStates {
		out = append(out, stateCount{s, d.Fleet.Counts[s], d.Fleet.Query.url("state", s, "page", ""), d.Fleet.Query.State == s})
	}
	return out
}

type stateCount struct {
	State string
	N     int
	URL   string
	On    bool
}

var funcs = template.FuncMap{
	"secs": func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"ago":  func(t time.Time) string { return statuspage.Ago(time.Since(t)) },
	"dur":  func(f float64) string { return statuspage.Ago(time.Duration(f * float64(time.Second))) },
	"num":  func(n int) string { return statuspage.Num(float64(n)) },
}

// The page's templates are parsed at first use (see nodeTmpl).
var overviewTop = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("top").Funcs(funcs).Parse(`<div class="card"><dl class="kv">
<dt>node id</dt><dd class="id">{{.ID}}</dd>
<dt>furl</dt><dd class="id">{{.Furl}}</dd>
<dt>listening</dt><dd>{{.Listen}}, polling every {{.PollInterval}} s, up {{dur .Uptime}}</dd>
<dt>enrolment</dt><dd>{{.Enrolment}}: {{.NodesEnrolled}} enrolled, {{.NodesPending}} pending, {{.NodesRevoked}} revoked; {{.Handshakes}} handshakes in progress</dd>
<dt>last round</dt><dd>#{{.LastRound.Seq}}: {{.LastRound.Answers}} answers, {{.LastRound.Failures}} failures, polled in {{secs .LastRound.PollSeconds}} s; round #{{.LastRound.WrittenSeq}} written by every output {{secs .LastRound.TotalSeconds}} s after it began</dd>
<dt>since start</dt><dd>{{.Rounds}} rounds, {{.PollFailures}} poll failures, {{.Refused}} refused peers</dd>
</dl></div>
<div class="counts">{{range .States}}<a class="count{{if .On}} on{{end}}" href="{{.URL}}"><span class="st st-{{.State}}">{{.State}}</span><b>{{.N}}</b></a>{{end}}</div>
<h2>Last hour <a class="mute" href="/health">(and 24 hours)</a></h2>
<div class="plots">{{range .Plots}}{{.}}{{end}}</div>
<h2>Nodes</h2>
<form class="filter" method="get" action="./">
<label>name or id <input name="q" value="{{.Fleet.Query.Text}}" size="24"></label>
<label>state <select name="state"><option value="">any</option>{{range .States}}{{if ne .State "all"}}<option{{if .On}} selected{{end}}>{{.State}}</option>{{end}}{{end}}</select></label>
<label>per page <input name="n" value="{{.Fleet.Query.Per}}" size="5"></label>
<input type="hidden" name="sort" value="{{.Fleet.Query.Sort}}">{{if .Fleet.Query.Desc}}<input type="hidden" name="desc" value="1">{{end}}
<button>show</button></form>
`))
})

var overviewBottom = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("bottom").Funcs(funcs).Parse(`<h2>Outputs</h2>
<table><tr><th>name</th><th>state</th><th class="n">restarts</th><th class="n">writes</th><th class="n">failures</th><th class="n">queued</th><th class="n">coalesced</th><th class="n">last write (s)</th><th>last error</th><th>own stats</th></tr>
{{range .Outputs}}<tr><td>{{.Name}}</td><td>{{if .Up}}<span class="st st-up">up</span>{{else}}<span class="st st-down">down</span>{{end}}</td><td class="n">{{.Restarts}}</td><td class="n">{{.Writes}}</td><td class="n">{{.Failures}}</td><td class="n">{{.Queued}}</td><td class="n">{{.Coalesced}}</td><td class="n">{{secs .WriteSecs}}</td><td class="w err">{{.LastError}}</td><td class="w">{{range $k, $v := .Stats}}{{$k}} {{$v}}<br>{{end}}</td></tr>
{{end}}</table>
`))
})

// fleetColumns are the table's columns: header, sort key, numeric.
var fleetColumns = []struct {
	head, sort string
	num        bool
}{
	{"state", "state", false}, {"nickname", "name", false}, {"node id", "id", false}, {"address", "address", false},
	{"version", "version", false}, {"since", "", false}, {"last answer", "age", true}, {"answer time", "answer", true},
	{"stats", "stats", true}, {"answer size", "size", true}, {"note", "", false},
}

// writeFleetTable writes the page's rows by hand, not by template: a page
// of 10,000 rows stays within a few tens of milliseconds.
func writeFleetTable(w *bufio.Writer, p FleetPage, now time.Time) {
	q := p.Query
	pager := func() {
		w.WriteString(`<div class="pager">`)
		from := min((q.Page-1)*q.Per+1, p.Matching)
		w.WriteString(strconv.Itoa(from) + "–" + strconv.Itoa(min(q.Page*q.Per, p.Matching)) + " of " + strconv.Itoa(p.Matching))
		if p.Matching != p.Total {
			w.WriteString(" matching (" + strconv.Itoa(p.Total) + " known)")
		}
		w.WriteString(", page " + strconv.Itoa(q.Page) + " of " + strconv.Itoa(p.pages()))
		if q.Page > 1 {
			w.WriteString(` <a href="` + template.HTMLEscapeString(q.url("page", "1")) + `">« first</a>`)
			w.WriteString(`<a rel="prev" href="` + template.HTMLEscapeString(q.url("page", strconv.Itoa(q.Page-1))) + `">‹ previous</a>`)
		}
		if q.Page < p.pages() {
			w.WriteString(` <a rel="next" href="` + template.HTMLEscapeString(q.url("page", strconv.Itoa(q.Page+1))) + `">next ›</a>`)
			w.WriteString(`<a href="` + template.HTMLEscapeString(q.url("page", strconv.Itoa(p.pages()))) + `">last »</a>`)
		}
		w.WriteString("</div>\n")
	}
	pager()
	w.WriteString(`<div class="scroll"><table id="fleet"><thead><tr>`)
	for _, c := range fleetColumns {
		if c.num {
			w.WriteString(`<th class="n">`)
		} else {
			w.WriteString(`<th>`)
		}
		if c.sort == "" {
			w.WriteString(c.head)
		} else {
			desc, mark := "", ""
			if q.Sort == c.sort {
				if !q.Desc {
					desc, mark = "1", " ▲"
				} else {
					mark = " ▼"
				}
			}
			w.WriteString(`<a href="` + template.HTMLEscapeString(q.url("sort", c.sort, "desc", desc, "page", "")) + `">` + c.head + mark + `</a>`)
		}
		w.WriteString("</th>")
	}
	w.WriteString("</tr></thead><tbody>\n")
	esc := func(s string) { template.HTMLEscape(w, []byte(s)) }
	for i := range p.Nodes {
		n := &p.Nodes[i]
		w.WriteString(`<tr data-state="`)
		w.WriteString(n.State)
		w.WriteString(`"><td><span class="st st-`)
		w.WriteString(n.State)
		w.WriteString(`">`)
		w.WriteString(n.State)
		w.WriteString(`</span></td><td><a href="/node/`)
		w.WriteString(n.ID) // validNodeID: base32 only
		w.WriteString(`">`)
		if n.Nickname == "" {
			w.WriteString(`<span class="mute">unknown</span>`)
		} else {
			esc(n.Nickname)
		}
		w.WriteString(`</a></td><td class="id">`)
		w.WriteString(n.ID)
		w.WriteString(`</td><td>`)
		esc(n.Address)
		w.WriteString(`</td><td>`)
		esc(n.Version)
		w.WriteString(`</td><td>`)
		if !n.Since.IsZero() {
			w.WriteString(`<span title="` + n.Since.UTC().Format(time.RFC3339) + `">` + statuspage.Ago(now.Sub(n.Since)) + ` ago</span>`)
		}
		w.WriteString(`</td><td class="n">`)
		if !n.LastAnswer.IsZero() {
			w.WriteString(statuspage.Ago(now.Sub(n.LastAnswer)) + " ago")
		}
		w.WriteString(`</td><td class="n">`)
		if n.AnswerSeconds > 0 {
			w.WriteString(ms(n.AnswerSeconds))
		}
		w.WriteString(`</td><td class="n">`)
		if n.Stats > 0 {
			w.WriteString(strconv.Itoa(n.Stats))
		}
		w.WriteString(`</td><td class="n">`)
		if n.AnswerBytes > 0 {
			w.WriteString(bytesOf(n.AnswerBytes))
		}
		w.WriteString(`</td><td class="w">`)
		esc(n.Note)
		w.WriteString("</td></tr>\n")
	}
	w.WriteString("</tbody></table></div>\n")
	if len(p.Nodes) > 20 {
		pager()
	}
}

// ms formats seconds as milliseconds.
func ms(s float64) string {
	v := s * 1000
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

// bytesOf formats a size.
func bytesOf(n int) string {
	switch {
	case n < 10<<10:
		return strconv.Itoa(n) + " B"
	case n < 10<<20:
		return strconv.Itoa(n>>10) + " KiB"
	default:
		return strconv.Itoa(n>>20) + " MiB"
	}
}

// hourPlots are the last hour's plots: hosts and answers, failures and
// refusals, poll and write times.
func hourPlots(h History, now time.Time, width int) []template.HTML {
	return plotsOf(h.Hour, h.Outputs, now.Add(-time.Hour), now, width, "")
}

func plotsOf(ps []HistoryPoint, outputs []string, from, to time.Time, width int, suffix string) []template.HTML {
	series := func(names []string, f func(p HistoryPoint, i int) float64) []statuspage.Series {
		out := make([]statuspage.Series, len(names))
		for i, name := range names {
			out[i].Name = name
			out[i].Points = make([]statuspage.Point, len(ps))
			for j, p := range ps {
				out[i].Points[j] = statuspage.Point{T: p.Time, V: f(p, i)}
			}
		}
		return out
	}
	hosts := statuspage.Plot{Title: "hosts and answers" + suffix, From: from, To: to, Width: width,
		Series: series([]string{"connected", "answers"}, func(p HistoryPoint, i int) float64 {
			if i == 0 {
				return float64(p.HostsConnected)
			}
			return float64(p.Answers) / float64(max(p.Rounds, 1))
		})}
	kinds := []string{"poll failures"}
	seen := map[string]bool{}
	for _, p := range ps {
		for k := range p.Refused {
			if k != refusal.PollFailed && !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	sort.Strings(kinds[1:])
	kinds = kinds[:min(len(kinds), 5)]
	fails := statuspage.Plot{Title: "failures and refusals" + suffix, From: from, To: to, Width: width,
		Series: series(kinds, func(p HistoryPoint, i int) float64 {
			if i == 0 {
				return float64(p.Failures)
			}
			return float64(p.Refused[kinds[i]])
		})}
	names := append([]string{"poll"}, outputs...)
	times := statuspage.Plot{Title: "poll and write times" + suffix, Unit: " ms", From: from, To: to, Width: width,
		Series: series(names, func(p HistoryPoint, i int) float64 {
			if i == 0 {
				return p.PollSeconds * 1000
			}
			v, ok := p.WriteSeconds[names[i]]
			if !ok {
				return math.NaN()
			}
			return v * 1000
		})}
	return []template.HTML{hosts.SVG(), fails.SVG(), times.SVG()}
}

// serveHealth answers /health: the fleet's health over the last hour and
// 24 hours; ?t=json is the History.
func (ps *Pages) serveHealth(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	h := ps.history.snapshot(now)
	if statuspage.WantsJSON(r) {
		statuspage.WriteJSON(w, h)
		return
	}
	statuspage.HTMLHeaders(w)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	l := ps.layout("fleet health", "?t=json")
	l.Head(bw)
	healthPage().Execute(bw, struct {
		Hour, Day []template.HTML
		N, M      int
	}{hourPlots(h, now, 460), plotsOf(h.Day, h.Outputs, now.Add(-24*time.Hour), now, 460, " (by minute)"), len(h.Hour), len(h.Day)})
	l.Foot(bw)
}

var healthPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("health").Parse(`<h2>Last hour, round by round ({{.N}} round{{if ne .N 1}}s{{end}})</h2>
<div class="plots">{{range .Hour}}{{.}}{{end}}</div>
<h2>Last 24 hours, by minute ({{.M}} minute{{if ne .M 1}}s{{end}})</h2>
<p class="mute">Answers and failures are summed over each minute's rounds (answers per round in the first plot); hosts and times are the minute's largest.</p>
<div class="plots">{{range .Day}}{{.}}{{end}}</div>
`))
})
