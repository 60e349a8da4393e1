package status

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/fanout"
	"github.com/statsherd/statsherd/gatherer/refusal"
	"github.com/statsherd/statsherd/gatherer/registry"
)

// testPages are the pages of a gatherer that is not running: a node list
// of its own (maxNodes, 0: the default), no host connected.
func testPages(tb testing.TB, maxNodes int) *Pages {
	tb.Helper()
	cfg := config.DefaultGatherer(tb.TempDir())
	cfg.Limits.MaxNodes = maxNodes
	nodes, err := registry.Load(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	src := Source{
		Status:    func(bool) Status { return Status{Hosts: []HostStatus{}, Outputs: []fanout.Status{}} },
		Conns:     func() map[string]Conn { return nil },
		Connected: func(string) bool { return false },
	}
	return New(cfg, nodes, refusal.NewTally(hclog.NewNullLogger(), cfg.PollInterval), src, hclog.NewNullLogger())
}

// fakeFleet fills ps with n known nodes: a tenth lost, a few pending and
// revoked, the rest "connected" (tracks with answers; no connections, so
// they show as lost unless conns is set).
func fakeFleet(tb testing.TB, ps *Pages, n int) {
	tb.Helper()
	now := time.Now()
	ps.nodes.Locked(func(nodes map[string]*registry.Node) {
		for i := range n {
			id := fmt.Sprintf("%032d", i)
			id = strings.Map(func(r rune) rune { return 'a' + (r - '0') }, id)
			state := registry.StateEnrolled
			switch i % 100 {
			case 7:
				state = registry.StatePending
			case 8:
				state = registry.StateRevoked
			}
			nodes[id] = &registry.Node{ID: id, Nickname: fmt.Sprintf("storage-%05d", i), State: state, LastAddress: "10.0.0.1:4000",
				FirstSeen: now, LastSeen: now, Changed: now}
			t := ps.tracks.get(id)
			t.Answer(now, now.Add(time.Duration(i%50)*time.Millisecond), 100, 4000+i%1000, nil)
			t.version = "statsherd 1.0"
		}
	})
}

func TestFleetView(t *testing.T) {
	t.Parallel()
	ps := testPages(t, 0)
	fakeFleet(t, ps, 1000)
	ps.tracks.refused("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "10.9.9.9:1", refusal.NotAllowed, "not on the <allowlist>", false, time.Now())
	srv := httptest.NewServer(ps)
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	tests := []struct {
		name, query string
		matching    int
		rows        int
		first       string // state of the first row
	}{
		{"all, default page", "", 1001, 100, FleetLost},
		{"pending", "?state=pending", 10, 10, FleetPending},
		{"revoked, by name descending", "?state=revoked&sort=name&desc=1", 10, 10, FleetRevoked},
		{"refused", "?state=refused", 1, 1, FleetRefused},
		{"name", "?q=storage-0099", 10, 10, ""},
		{"last page", "?n=300&page=4", 1001, 101, ""},
		{"too far", "?page=99", 1001, 0, ""},
		{"bad values", "?state=<x>&sort=nope&n=-4&page=x", 1001, 100, FleetLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Status
			if err := json.Unmarshal([]byte(get("/"+strings.Replace(tt.query, "?", "?t=json&", 1)+map[bool]string{true: "?t=json"}[tt.query == ""])), &s); err != nil {
				t.Fatal(err)
			}
			f := s.Fleet
			if f.Matching != tt.matching || len(f.Nodes) != tt.rows || f.Total != 1001 {
				t.Errorf("matching %d, rows %d, total %d; want %d, %d, 1001", f.Matching, len(f.Nodes), f.Total, tt.matching, tt.rows)
			}
			if tt.first != "" && len(f.Nodes) > 0 && f.Nodes[0].State != tt.first {
				t.Errorf("first row %+v, want state %s", f.Nodes[0], tt.first)
			}
			if f.Counts[FleetLost] != 980 || f.Counts[FleetPending] != 10 || f.Counts[FleetRevoked] != 10 || f.Counts[FleetRefused] != 1 {
				t.Errorf("counts %v", f.Counts)
			}
			html := get("/" + tt.query)
			if n := strings.Count(html, `<tr data-state=`); n != tt.rows {
				t.Errorf("HTML: %d rows, want %d", n, tt.rows)
			}
		})
	}
	if html := get("/?state=refused"); !strings.Contains(html, "not on the &lt;allowlist&gt;") {
		t.Errorf("the refusal's reason is missing or not escaped")
	}
	// A node's page and the health view, each with its twin.
	id := "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaah" // node 7: pending
	var p NodePage
	if err := json.Unmarshal([]byte(get("/node/"+id+"?t=json")), &p); err != nil {
		t.Fatal(err)
	}
	if p.State != FleetPending || !strings.Contains(p.Command, "statsherd gatherer approve "+id) || len(p.Answers) != 1 {
		t.Errorf("node page %+v", p)
	}
	if html := get("/node/" + id); !strings.Contains(html, "storage-00007") || !strings.Contains(html, "<svg") {
		t.Errorf("node page HTML lacks the node or its plot")
	}
	for _, bad := range []string{"/node/nope", "/node/" + strings.Repeat("b", 32), "/elsewhere"} {
		resp, err := http.Get(srv.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", bad, resp.Status)
		}
	}
	var h History
	if err := json.Unmarshal([]byte(get("/health?t=json")), &h); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(get("/health"), "Last 24 hours") {
		t.Error("health page lacks the 24 hours")
	}
}

// TestHistoryBounded: the rings keep at most an hour of rounds and a day
// of minutes, in fixed memory whatever the fleet, and merge a minute's
// rounds.
func TestHistoryBounded(t *testing.T) {
	t.Parallel()
	h := newFleetHistory(10 * time.Second)
	if size := (hourRounds + dayMinutes) * roundSummarySize; size > 2<<20 {
		t.Errorf("the rings take %d bytes, over 2 MB", size)
	}
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	total := int64(0)
	for i := range 2 * 24 * 3600 / 10 { // two days, a round every 10 s
		total += 2
		h.record(start.Add(time.Duration(i)*10*time.Second), 50000, 49990, 10, time.Second, []float64{0.5}, map[string]int64{refusal.Secret: total})
	}
	now := start.Add(48 * time.Hour)
	s := h.snapshot(now)
	if len(s.Hour) != 360 || len(s.Day) != dayMinutes && len(s.Day) != dayMinutes-1 {
		t.Errorf("%d rounds in the last hour, %d minutes in 24 h; want 360, %d", len(s.Hour), len(s.Day), dayMinutes)
	}
	m := s.Day[len(s.Day)-2]
	if m.Rounds != 6 || m.Answers != 6*49990 || m.Refused[refusal.Secret] != 12 || m.HostsConnected != 50000 {
		t.Errorf("a minute: %+v", m)
	}
}

// TestHistoryGrows: the rings hold what the rounds so far need, oldest
// first, and the hour's ring no more than an hour of rounds at the poll
// interval.
func TestHistoryGrows(t *testing.T) {
	t.Parallel()
	h := newFleetHistory(time.Minute)
	start := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		h.record(start.Add(time.Duration(i)*time.Minute), i, i, 0, time.Second, nil, nil)
	}
	s := h.snapshot(start.Add(5 * time.Minute))
	if len(s.Hour) != 5 || len(s.Day) != 5 {
		t.Fatalf("%d rounds in the hour, %d minutes; want 5 and 5", len(s.Hour), len(s.Day))
	}
	for i, p := range s.Hour {
		if p.HostsConnected != i || s.Day[i].HostsConnected != i {
			t.Errorf("round %d: %+v, minute %+v", i, p, s.Day[i])
		}
	}
	if c := cap(h.hour.buf) + cap(h.day.buf); c > 32 {
		t.Errorf("5 rounds hold %d summaries", c)
	}
	for i := 5; i < 3*60; i++ {
		h.record(start.Add(time.Duration(i)*time.Minute), i, i, 0, time.Second, nil, nil)
	}
	if c := cap(h.hour.buf); c > 61 {
		t.Errorf("the hour's ring holds %d summaries at a round a minute", c)
	}
	s = h.snapshot(start.Add(3 * time.Hour))
	if len(s.Hour) != 60 || s.Hour[0].HostsConnected != 120 || s.Hour[59].HostsConnected != 179 || len(s.Day) != 180 {
		t.Errorf("after 3 hours: %d rounds in the hour (%+v … %+v), %d minutes", len(s.Hour), s.Hour[0], s.Hour[len(s.Hour)-1], len(s.Day))
	}
}

// TestFleetQueryURL: the links the page makes keep the query, and parse
// back to it.
// TestTrackSize: what the page keeps per node stays small.
func TestTrackSize(t *testing.T) {
	if size := unsafe.Sizeof(Track{}); size > 900 {
		t.Errorf("a node's track takes %d bytes, more than 900", size)
	}
}

func TestFleetQueryURL(t *testing.T) {
	q := FleetQuery{Sort: "age", Desc: true, State: FleetLost, Text: "a&b", Page: 3, Per: 500}
	u, err := url.Parse(q.url())
	if err != nil {
		t.Fatal(err)
	}
	if got := parseFleetQuery(u.Query()); got != q {
		t.Errorf("%s parses to %+v, want %+v", q.url(), got, q)
	}
	if got := (FleetQuery{Sort: "state", Page: 1, Per: defaultPerPage}).url(); got != "./" {
		t.Errorf("default query's URL %q", got)
	}
}

// BenchmarkFleetPage renders the fleet view's page of 10,000 nodes (or
// every node, when fewer) among n known nodes: the server's time for the
// page, from the node list to the last byte.
func BenchmarkFleetPage(b *testing.B) {
	for _, n := range []int{1000, 10000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ps := testPages(b, 100000)
			fakeFleet(b, ps, n)
			req := httptest.NewRequest("GET", "http://127.0.0.1/?n=10000", nil)
			b.ReportAllocs()
			// The process's CPU time per page too: on a shared machine
			// the wall time is mostly waiting for a CPU.
			cpu0 := cpuTime()
			n := 0
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				ps.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
				n++
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
		})
	}
}

// BenchmarkStatusJSON reads the overview's JSON as the load tool does,
// among n known nodes: with the fleet view's first page (hosts=0), and
// the figures alone (fleet=0), which walk no node.
func BenchmarkStatusJSON(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, q := range []string{"hosts=0", "hosts=0&fleet=0"} {
			b.Run(fmt.Sprintf("nodes=%d/%s", n, q), func(b *testing.B) {
				ps := testPages(b, 100000)
				fakeFleet(b, ps, n)
				req := httptest.NewRequest("GET", "http://127.0.0.1/?t=json&"+q, nil)
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					ps.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatal(w.Code)
					}
				}
			})
		}
	}
}

// cpuTime is the process's CPU time, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzFleetQuery: any query string parses to a query within bounds,
// whose URL parses back to it, and pages any fleet without a panic.
func FuzzFleetQuery(f *testing.F) {
	for _, s := range []string{"", "sort=age&desc=1&state=lost&q=web&page=2&n=50", "n=99999999999999999999&page=-3", "state=%00&q=%ff%fe", "sort=stats&sort=name"} {
		f.Add(s)
	}
	nodes := []FleetNode{{ID: "a", Nickname: "x", State: FleetLost}, {ID: "b", Nickname: "y", State: FleetConnected}, {ID: "c", State: FleetRefused}}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := parseFleetQuery(v)
		if q.Page < 1 || q.Per < 1 || q.Per > maxPerPage || len(q.Text) > 200 {
			t.Fatalf("%q: out of bounds %+v", raw, q)
		}
		u, err := url.Parse(q.url())
		if err != nil {
			t.Fatalf("%q: URL %q: %v", raw, q.url(), err)
		}
		if back := parseFleetQuery(u.Query()); back != q {
			t.Fatalf("%q: %+v comes back as %+v", raw, q, back)
		}
		p := fleetPage(slices.Clone(nodes), q)
		if p.Total != 3 || len(p.Nodes) > p.Matching {
			t.Fatalf("%q: page %+v", raw, p)
		}
	})
}
