package host

import (
	"bufio"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/statsherd/statsherd/internal/statuspage"
	"github.com/statsherd/statsherd/internal/supervisor"
	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/sdk"
)

// The host's status page (/): each producer's state, its last collect,
// errors and restarts, the statsd listener's and the register socket's
// figures, and small plots of the last hour of polls. Its JSON twin is
// /host?t=json (status.url?t=json stays the stats, as the gatherer
// receives them, as before; /statistics is the text view).

// hostPoints is the polls kept for the plots: an hour at a poll a
// second is 3,600; the ring holds the newest pagePoints, each ≈ 100
// bytes plus 12 per producer.
const pagePoints = 720

// pagePoint is one poll, for the plots.
type pagePoint struct {
	at            time.Time
	poll          float32 // seconds
	statsdLines   int64
	statsdDropped int64
	registered    int32
	producers     []producerPoint
}

type producerPoint struct {
	name string
	call float32 // seconds
	fail bool
}

// hostPage is the ring of polls, and the time of the last one.
type hostPage struct {
	mu   sync.Mutex
	pts  []pagePoint
	next int
	n    int
}

func (p *hostPage) add(pt pagePoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pts == nil {
		p.pts = make([]pagePoint, pagePoints)
	}
	p.pts[p.next] = pt
	p.next = (p.next + 1) % pagePoints
	p.n = min(p.n+1, pagePoints)
}

// since returns the points from t on, oldest first.
func (p *hostPage) since(t time.Time) []pagePoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]pagePoint, 0, p.n)
	for i := range p.n {
		pt := p.pts[(p.next-p.n+i+pagePoints)%pagePoints]
		if !pt.at.Before(t) {
			out = append(out, pt)
		}
	}
	return out
}

// recordPoll adds a poll of the gatherer's to the page's ring.
func (h *Host) recordPoll(start time.Time, took time.Duration, own sdk.Stats, states []supervisor.State) {
	pt := pagePoint{at: start, poll: float32(took.Seconds()), statsdLines: own.Counters["statsherd.statsd.lines"],
		statsdDropped: own.Counters["statsherd.statsd.dropped"]}
	for _, s := range states {
		if s.Kind == registeredKind {
			pt.registered++
		}
		pt.producers = append(pt.producers, producerPoint{name: s.Name, call: float32(s.CallDuration.Seconds()), fail: s.LastError != ""})
	}
	h.page.add(pt)
}

// ProducerStatus is a producer on the host's page.
type ProducerStatus struct {
	Name       string    `json:"name"`
	Registered bool      `json:"registered,omitempty"`
	Up         bool      `json:"up"`
	Calls      int64     `json:"calls"`
	Failures   int64     `json:"failures"`
	Restarts   int64     `json:"restarts"`
	CallSecs   float64   `json:"last_collect_seconds"`
	LastPoll   time.Time `json:"last_collect,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
	ErrorAt    time.Time `json:"last_error_time,omitzero"`
	NextStart  time.Time `json:"next_start,omitzero"`
}

// PagePoint is a poll in the page's JSON.
type PagePoint struct {
	Time        time.Time          `json:"time"`
	PollSeconds float64            `json:"poll_seconds"`
	StatsdLines int64              `json:"statsd_lines"`
	Registered  int                `json:"registered"`
	Collect     map[string]float64 `json:"collect_seconds"`
}

// StatusPage is the host's page.
type StatusPage struct {
	Nickname  string            `json:"nickname"`
	ID        string            `json:"id,omitempty"`
	Version   string            `json:"version"`
	Uptime    float64           `json:"uptime_seconds"`
	Gatherer  string            `json:"gatherer"`
	Polls     int64             `json:"polls"`
	Producers []ProducerStatus  `json:"producers"`
	Statsd    map[string]string `json:"statsd"`
	Register  map[string]string `json:"register"`
	LastHour  []PagePoint       `json:"last_hour"`
}

func (h *Host) statusPage(now time.Time) StatusPage {
	cfg := h.Config()
	p := StatusPage{Nickname: cfg.Nickname, Version: version.String(), Uptime: now.Sub(h.born).Seconds(), Gatherer: h.gathererStatus(),
		Statsd: map[string]string{}, Register: map[string]string{}, LastHour: []PagePoint{}}
	if id := h.opts.Identity; id != nil {
		p.ID = id.ID
	}
	h.mu.Lock()
	p.Polls = h.polls
	statsd, reg := h.statsd, h.reg
	h.mu.Unlock()
	pts := h.page.since(now.Add(-time.Hour))
	var lastPoll time.Time
	if len(pts) > 0 {
		lastPoll = pts[len(pts)-1].at
	}
	for _, s := range h.allStates() {
		ps := ProducerStatus{Name: s.Name, Registered: s.Kind == registeredKind, Up: s.Up, Calls: s.Calls, Failures: s.Failures,
			Restarts: s.Restarts, CallSecs: s.CallDuration.Seconds(), LastError: oneLine(s.LastError), ErrorAt: s.LastErrorTime}
		if !s.Up {
			ps.NextStart = s.NextStart
		}
		if s.Calls > 0 {
			ps.LastPoll = lastPoll
		}
		p.Producers = append(p.Producers, ps)
	}
	if statsd != nil {
		st := sdk.NewStats()
		statsd.AddTo(st)
		p.Statsd["listening on"] = statsd.Addr()
		for k, v := range st.Counters {
			p.Statsd[strings.TrimPrefix(k, "statsherd.statsd.")] = strconv.FormatInt(v, 10)
		}
		for k, v := range st.Stats {
			p.Statsd[strings.TrimPrefix(k, "statsherd.statsd.")] = v.String()
		}
	} else {
		p.Statsd["listening on"] = "off"
	}
	if reg != nil {
		p.Register["socket"] = reg.path
		p.Register["programs registered"] = strconv.Itoa(len(reg.producers()))
		p.Register["connections before hello"] = strconv.Itoa(int(reg.waiting.Load()))
	} else {
		p.Register["socket"] = "off"
	}
	for _, pt := range pts {
		jp := PagePoint{Time: pt.at, PollSeconds: float64(pt.poll), StatsdLines: pt.statsdLines, Registered: int(pt.registered), Collect: map[string]float64{}}
		for _, pp := range pt.producers {
			jp.Collect[pp.name] = float64(pp.call)
		}
		p.LastHour = append(p.LastHour, jp)
	}
	return p
}

// serveHostPage answers / (HTML) and /host (HTML, or JSON with ?t=json).
func (h *Host) serveHostPage(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	p := h.statusPage(now)
	if statuspage.WantsJSON(r) {
		statuspage.WriteJSON(w, p)
		return
	}
	statuspage.HTMLHeaders(w)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	l := statuspage.Layout{Title: "host", Daemon: "host " + p.Nickname, RefreshMS: 5000, JSON: "/host?t=json",
		Nav: [][2]string{{"host", "/"}, {"stats", "/statistics"}}}
	l.Head(bw)
	if err := hostTmpl().Execute(bw, struct {
		StatusPage
		Plots  []template.HTML
		Statsd []kv
		Reg    []kv
	}{p, hostPlots(p, now), statsdFigures(p.Statsd), sortedKV(p.Register)}); err != nil {
		h.log.Warn("writing status page", "error", err)
	}
	l.Foot(bw)
}

type kv struct{ K, V string }

// statsdFigures orders the listener's figures for people: the main ones,
// then the drops by reason that are not zero.
func statsdFigures(m map[string]string) []kv {
	var out []kv
	for _, k := range []string{"listening on", "packets", "lines", "names", "expired", "dropped", "dropped.kernel", "receive_buffer_bytes"} {
		if v, ok := m[k]; ok {
			out = append(out, kv{k, v})
		}
	}
	for _, k := range sortedKeys(m) {
		if strings.HasPrefix(k, "dropped.") && k != "dropped.kernel" && m[k] != "0" {
			out = append(out, kv{k, m[k]})
		}
	}
	return out
}

func sortedKV(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, kv{k, m[k]})
	}
	return out
}

// hostPlots: each producer's collect time, the poll time, statsd lines
// per poll.
func hostPlots(p StatusPage, now time.Time) []template.HTML {
	from := now.Add(-time.Hour)
	var names []string
	seen := map[string]bool{}
	for _, pt := range p.LastHour {
		for n := range pt.Collect {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	var out []template.HTML
	poll := statuspage.Plot{Title: "poll time", Unit: " ms", From: from, To: now, Width: 262}
	s := statuspage.Series{Name: "poll"}
	lines := statuspage.Series{Name: "lines per poll"}
	for i, pt := range p.LastHour {
		s.Points = append(s.Points, statuspage.Point{T: pt.Time, V: pt.PollSeconds * 1000})
		if i > 0 {
			lines.Points = append(lines.Points, statuspage.Point{T: pt.Time, V: float64(max(pt.StatsdLines-p.LastHour[i-1].StatsdLines, 0))})
		}
	}
	poll.Series = []statuspage.Series{s}
	out = append(out, poll.SVG())
	for _, n := range names[:min(len(names), 12)] {
		pl := statuspage.Plot{Title: "collect: " + n, Unit: " ms", From: from, To: now, Width: 262}
		s := statuspage.Series{Name: n}
		for _, pt := range p.LastHour {
			if v, ok := pt.Collect[n]; ok {
				s.Points = append(s.Points, statuspage.Point{T: pt.Time, V: v * 1000})
			}
		}
		pl.Series = []statuspage.Series{s}
		out = append(out, pl.SVG())
	}
	sd := statuspage.Plot{Title: "statsd lines per poll", From: from, To: now, Width: 262, Series: []statuspage.Series{lines}}
	return append(out, sd.SVG())
}

// hostTmpl is parsed at first use (see statuspage's templates).
var hostTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("host").Funcs(template.FuncMap{
		"ago":  func(t time.Time) string { return statuspage.Ago(time.Since(t)) },
		"dur":  func(f float64) string { return statuspage.Ago(time.Duration(f * float64(time.Second))) },
		"msec": func(f float64) string { return strconv.FormatFloat(f*1000, 'f', 2, 64) + " ms" },
	}).Parse(`<div class="card"><dl class="kv">
<dt>nickname</dt><dd><b>{{.Nickname}}</b></dd>
{{if .ID}}<dt>node id</dt><dd class="id">{{.ID}}</dd>{{end}}
<dt>version</dt><dd>{{.Version}}</dd>
<dt>up</dt><dd>{{dur .Uptime}}, {{.Polls}} polls answered</dd>
<dt>gatherer</dt><dd>{{.Gatherer}}</dd>
</dl></div>
<h2>Producers ({{len .Producers}})</h2>
<table id="producers"><thead><tr><th>name</th><th>state</th><th class="n">calls</th><th class="n">failures</th><th class="n">restarts</th><th>last collect</th><th class="n">took</th><th>last error</th></tr></thead><tbody>
{{range .Producers}}<tr><td>{{.Name}}{{if .Registered}} <span class="mute">(registered)</span>{{end}}</td><td>{{if .Up}}<span class="st st-up">up</span>{{else}}<span class="st st-down">down</span>{{if not .NextStart.IsZero}} <span class="mute">restart at {{.NextStart.UTC.Format "15:04:05"}}</span>{{end}}{{end}}</td><td class="n">{{.Calls}}</td><td class="n">{{.Failures}}</td><td class="n">{{.Restarts}}</td><td>{{if not .LastPoll.IsZero}}{{ago .LastPoll}} ago{{end}}</td><td class="n">{{msec .CallSecs}}</td><td class="w err">{{if .LastError}}{{.LastError}}{{if not .ErrorAt.IsZero}} <span class="mute">({{ago .ErrorAt}} ago)</span>{{end}}{{end}}</td></tr>
{{else}}<tr><td colspan="8" class="mute">no producers configured</td></tr>{{end}}</tbody></table>
<h2>Last hour</h2>
<div class="plots">{{range .Plots}}{{.}}{{end}}</div>
<div class="plots" style="margin-top:12px">
<div class="card"><h2 style="margin-top:0">statsd listener</h2><dl class="kv" id="statsd">{{range .Statsd}}<dt>{{.K}}</dt><dd>{{.V}}</dd>{{end}}</dl></div>
<div class="card"><h2 style="margin-top:0">register socket</h2><dl class="kv" id="register">{{range .Reg}}<dt>{{.K}}</dt><dd>{{.V}}</dd>{{end}}</dl></div>
</div>
<p><a href="/statistics">every stat, as text</a> · <a href="/statistics?t=json">as the gatherer receives them (JSON)</a></p>
`))
})
