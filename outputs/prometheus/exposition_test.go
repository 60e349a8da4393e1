package prometheus

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// clientGolang renders nodes as this output did before it rendered its own
// exposition: a client_golang collector of const metrics, gathered by a
// registry and encoded by expfmt. It is the reference the output's bytes
// are compared with.
func clientGolang(t *testing.T, prefix string, nodes []sdk.NodeSample) string {
	t.Helper()
	reg := prom.NewPedanticRegistry()
	if err := reg.Register(refCollector{prefix, nodes}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("client_golang refused the reference metrics: %v", err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

type refCollector struct {
	prefix string
	nodes  []sdk.NodeSample
}

func (refCollector) Describe(chan<- *prom.Desc) {}

func (c refCollector) Collect(ch chan<- prom.Metric) {
	labels := []string{promname.LabelNode, promname.LabelNickname}
	descs := map[string]*prom.Desc{}
	desc := func(name, help string) *prom.Desc {
		if d, ok := descs[name]; ok {
			return d
		}
		d := prom.NewDesc(promname.Metric(c.prefix, name), help, labels, nil)
		descs[name] = d
		return d
	}
	for _, n := range c.nodes {
		lv := []string{n.ID, n.Nickname}
		ch <- prom.MustNewConstMetric(desc(promname.LastSeen, "Unix time of the node's last answer to the gatherer."),
			prom.GaugeValue, float64(n.Timestamp.UnixNano())/1e9, lv...)
		for name, v := range n.Stats.Counters {
			ch <- prom.MustNewConstMetric(desc(name+"_total", "statsherd counter "+name), prom.CounterValue, float64(v), lv...)
		}
		for name, v := range n.Stats.Stats {
			if f, ok := v.Float64(); ok {
				ch <- prom.MustNewConstMetric(desc(name, "statsherd stat "+name), prom.GaugeValue, f, lv...)
			}
		}
	}
}

// exposition returns the page the output serves, decompressed.
func exposition(t testing.TB, o *output) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(o.current(context.Background()).gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExpositionMatchesClientGolang renders rounds with the output and
// with client_golang, and wants the same bytes: names, labels, HELP,
// TYPE, value formatting and order.
func TestExpositionMatchesClientGolang(t *testing.T) {
	now := time.Unix(1764000000, 500000000)
	st := func(c map[string]int64, s map[string]sdk.Value) sdk.Stats { return sdk.Stats{Counters: c, Stats: s} }
	tests := []struct {
		name   string
		prefix string
		rounds [][]sdk.NodeSample
	}{
		{"empty", "statsherd", [][]sdk.NodeSample{nil}},
		{"one node", "statsherd", [][]sdk.NodeSample{{
			{ID: "aaaabbbbccccdddd", Nickname: "storage-01", Timestamp: now, Stats: st(
				map[string]int64{"storage_server.allocate": 12, "chk_upload_helper.upload_requests": 0},
				map[string]sdk.Value{"load_monitor.avg_load": sdk.Float(0.25), "storage_server.consumed": sdk.Null})},
		}}},
		{"values", "p", [][]sdk.NodeSample{{
			{ID: "n1", Nickname: "a", Timestamp: now, Stats: st(
				map[string]int64{"big": math.MaxInt64, "neg": -1, "one": 1, "odd": 1<<53 + 1},
				map[string]sdk.Value{
					"one": sdk.Float(1), "minus_one": sdk.Float(-1), "zero": sdk.Float(0), "tiny": sdk.Float(5.6836e-05),
					"huge": sdk.Float(1.5e300), "int": sdk.Int(123456789012), "third": sdk.Float(1.0 / 3), "negzero": sdk.Float(math.Copysign(0, -1)),
				})},
		}}},
		{"escaped nicknames and sorting", "statsherd", [][]sdk.NodeSample{{
			{ID: "zz", Nickname: `b "quoted"`, Timestamp: now, Stats: st(map[string]int64{"x.y": 1}, nil)},
			{ID: "yy", Nickname: "a\\back\nslash", Timestamp: now, Stats: st(map[string]int64{"x.y": 2}, nil)},
			{ID: "xx", Nickname: "b", Timestamp: now, Stats: st(map[string]int64{"x.y": 3}, map[string]sdk.Value{"x.y": sdk.Int(4)})},
			{ID: "ww", Nickname: "b", Timestamp: now.Add(-time.Second), Stats: st(nil, map[string]sdk.Value{"only.here": sdk.Int(5)})},
			{ID: "vv", Nickname: "ünïcode", Timestamp: now, Stats: st(map[string]int64{"9lives.x-y": 6}, nil)},
		}}},
		{"no prefix", "", [][]sdk.NodeSample{{
			{ID: "n1", Nickname: "a", Timestamp: now, Stats: st(map[string]int64{"9lives.x-y": 6}, map[string]sdk.Value{"a-b.c": sdk.Float(2)})},
		}}},
		{"later rounds replace and add", "statsherd", [][]sdk.NodeSample{
			{
				{ID: "n1", Nickname: "one", Timestamp: now.Add(-2 * time.Minute), Stats: st(map[string]int64{"a.c": 1}, map[string]sdk.Value{"a.s": sdk.Int(1)})},
				{ID: "n2", Nickname: "two", Timestamp: now.Add(-2 * time.Minute), Stats: st(map[string]int64{"a.c": 2}, nil)},
			},
			{
				// n1 is renamed, loses a stat and gains one; n2 is absent
				// and keeps its sample; n3 is new.
				{ID: "n1", Nickname: "uno", Timestamp: now, Stats: st(map[string]int64{"a.c": 10, "z.new": 1}, nil)},
				{ID: "n3", Nickname: "three", Timestamp: now, Stats: st(nil, map[string]sdk.Value{"0.first": sdk.Float(0.5)})},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := New(hclog.NewNullLogger()).(*output)
			o.now = func() time.Time { return now }
			o.cfg = settings{Prefix: tt.prefix, StaleAfter: time.Hour}
			o.fleet = newFleet(tt.prefix)
			latest := map[string]sdk.NodeSample{}
			for _, nodes := range tt.rounds {
				if err := o.Write(context.Background(), sdk.Round{Time: now, Nodes: nodes}); err != nil {
					t.Fatal(err)
				}
				for _, n := range nodes {
					latest[n.ID] = n
				}
			}
			var all []sdk.NodeSample
			for _, n := range latest {
				all = append(all, n)
			}
			want := clientGolang(t, tt.prefix, all)
			if got := exposition(t, o); got != want {
				t.Errorf("exposition differs from client_golang's\n--- got:\n%s\n--- want:\n%s", got, want)
			}
		})
	}
}

// TestExpositionParses has Prometheus's own parser read a large page and
// finds every value where it was put.
func TestExpositionParses(t *testing.T) {
	now := time.Now()
	o := New(hclog.NewNullLogger()).(*output)
	o.now = func() time.Time { return now }
	o.cfg = settings{Prefix: "statsherd", StaleAfter: time.Hour}
	o.fleet = newFleet("statsherd")
	r := fleetRound(now, 300, 100)
	if err := o.Write(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(exposition(t, o)))
	if err != nil {
		t.Fatalf("Prometheus's parser refused the exposition: %v", err)
	}
	if len(mfs) != 101 {
		t.Errorf("%d metric families, want 101 (100 stats and the last-seen gauge)", len(mfs))
	}
	got := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.Metric {
			got[name+"/"+label(m, promname.LabelNode)] = value(mf.GetType(), m)
		}
	}
	series := 0
	for _, n := range r.Nodes {
		for name, v := range n.Stats.Counters {
			series++
			if k := promname.Counter("statsherd", name) + "/" + n.ID; got[k] != float64(v) {
				t.Fatalf("%s = %v, want %v", k, got[k], v)
			}
		}
		for name, v := range n.Stats.Stats {
			series++
			f, _ := v.Float64()
			if k := promname.Metric("statsherd", name) + "/" + n.ID; got[k] != f {
				t.Fatalf("%s = %v, want %v", k, got[k], f)
			}
		}
	}
	if series+len(r.Nodes) != len(got) {
		t.Errorf("%d series parsed, want %d", len(got), series+len(r.Nodes))
	}
	if p := o.current(context.Background()); p.series != len(got) {
		t.Errorf("page counts %d series, parsed %d", p.series, len(got))
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(typ dto.MetricType, m *dto.Metric) float64 {
	if typ == dto.MetricType_COUNTER {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

// TestNameCollision: two statsherd names of one Prometheus name keep the
// first seen, drop the other's values, and say so, rather than serving a
// page Prometheus refuses.
func TestNameCollision(t *testing.T) {
	now := time.Now()
	var logs strings.Builder
	o := New(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})).(*output)
	o.cfg = settings{Prefix: "statsherd"}
	o.fleet = newFleet("statsherd")
	round := sdk.Round{Time: now, Nodes: []sdk.NodeSample{{ID: "n1", Nickname: "a", Timestamp: now, Stats: sdk.Stats{
		Counters: map[string]int64{"a.b": 1},
		Stats: map[string]sdk.Value{"a.b_total": sdk.Int(2), "a-b.x": sdk.Int(3), "a.b.x": sdk.Int(4),
			promname.LastSeen: sdk.Int(5)},
	}}}}
	if err := o.Write(context.Background(), round); err != nil {
		t.Fatal(err)
	}
	tp := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := tp.TextToMetricFamilies(strings.NewReader(exposition(t, o))); err != nil {
		t.Fatalf("Prometheus's parser refused the exposition: %v\n%s", err, exposition(t, o))
	}
	if n := strings.Count(exposition(t, o), "\nstatsherd_a_b_total{"); n != 1 {
		t.Errorf("statsherd_a_b_total has %d series, want 1:\n%s", n, exposition(t, o))
	}
	if !strings.Contains(logs.String(), "values=3") {
		t.Errorf("the log does not count the 3 dropped values: %q", logs.String())
	}
}

// TestScrapeEncodings serves the same page gzip-compressed and plain, and
// HEAD with the length alone.
func TestScrapeEncodings(t *testing.T) {
	now := time.Now()
	o, u := start(t, now)
	if err := o.Write(context.Background(), fleetRound(now, 20, 10)); err != nil {
		t.Fatal(err)
	}
	want := exposition(t, o)
	for _, tt := range []struct {
		method, accept string
		gzipped        bool
	}{
		{"GET", "gzip", true},
		{"GET", "deflate, gzip;q=1.0, *;q=0.5", true},
		{"GET", "", false},
		{"GET", "identity", false},
		{"GET", "gzip;q=0", false},
		{"HEAD", "gzip", true},
		{"HEAD", "", false},
	} {
		t.Run(fmt.Sprintf("%s %q", tt.method, tt.accept), func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, u, nil)
			req.Header.Set("Accept-Encoding", tt.accept)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if ct := resp.Header.Get("Content-Type"); ct != contentType {
				t.Errorf("Content-Type %q, want %q", ct, contentType)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.gzipped {
				t.Fatalf("gzipped %v, want %v", got, tt.gzipped)
			}
			size := len(want)
			if tt.gzipped {
				size = len(o.current(context.Background()).gz)
			}
			if resp.ContentLength != int64(size) {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, size)
			}
			if tt.method == "HEAD" {
				if len(body) != 0 {
					t.Errorf("HEAD has a body of %d bytes", len(body))
				}
				return
			}
			if tt.gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if string(body) != want {
				t.Errorf("body differs from the page (%d bytes, want %d)", len(body), len(want))
			}
		})
	}
}

// FuzzExposition renders what a host could send (any nickname, any valid
// stat name, any value) and wants Prometheus's parser to read back the
// same labels and values.
func FuzzExposition(f *testing.F) {
	f.Add("storage-01", "load_monitor.avg_load", 0.25, int64(12))
	f.Add(`a "b" \c`+"\n", "9lives.x-y", -1.5e-7, int64(-1))
	f.Add("\xff\xfe", "a", 1e300, int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, nickname, name string, v float64, c int64) {
		if stat.ValidName(name) != nil {
			return
		}
		now := time.Now()
		o := New(hclog.NewNullLogger()).(*output)
		o.cfg = settings{Prefix: "statsherd"}
		o.fleet = newFleet("statsherd")
		r := sdk.Round{Time: now, Nodes: []sdk.NodeSample{
			{ID: "n1", Nickname: nickname, Timestamp: now, Stats: sdk.Stats{
				Counters: map[string]int64{name: c}, Stats: map[string]sdk.Value{name: sdk.Float(v)}}},
			{ID: "n2", Nickname: "other", Timestamp: now, Stats: sdk.Stats{Counters: map[string]int64{name: 1}}},
		}}
		if err := o.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		page := exposition(t, o)
		tp := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := tp.TextToMetricFamilies(strings.NewReader(page))
		if err != nil {
			t.Fatalf("Prometheus's parser refused the exposition: %v\n%s", err, page)
		}
		wantNick := strings.ToValidUTF8(nickname, "\uFFFD")
		check := func(metric string, want float64) {
			t.Helper()
			mf := mfs[metric]
			if mf == nil {
				t.Fatalf("no family %s in\n%s", metric, page)
			}
			for _, m := range mf.Metric {
				if label(m, promname.LabelNode) == "n1" {
					if got := label(m, promname.LabelNickname); got != wantNick {
						t.Errorf("nickname %q, want %q", got, wantNick)
					}
					if got := value(mf.GetType(), m); got != want {
						t.Errorf("%s = %v, want %v", metric, got, want)
					}
					return
				}
			}
			t.Fatalf("no series of n1 in %s", metric)
		}
		check(promname.Counter("statsherd", name), float64(c))
		if x, ok := sdk.Float(v).Float64(); ok && promname.Metric("statsherd", name) != promname.Counter("statsherd", name) {
			check(promname.Metric("statsherd", name), x)
		}
	})
}

// TestNamesComeAndGo: names no node reports any more are forgotten once
// they pile up, and the page stays what client_golang writes.
func TestNamesComeAndGo(t *testing.T) {
	now := time.Unix(1764000000, 0)
	o := New(hclog.NewNullLogger()).(*output)
	o.now = func() time.Time { return now }
	o.cfg = settings{Prefix: "statsherd", StaleAfter: time.Hour}
	o.fleet = newFleet("statsherd")
	var last []sdk.NodeSample
	for round := range 4 {
		// Each round, every node reports 600 names never seen before and
		// a few it always reports.
		last = nil
		for n := range 3 {
			st := sdk.Stats{Counters: map[string]int64{"always.c": int64(round)}, Stats: map[string]sdk.Value{"always.s": sdk.Int(int64(n))}}
			for i := range 200 {
				st.Counters[fmt.Sprintf("r%d.n%d.c%d", round, n, i)] = int64(i)
			}
			last = append(last, sdk.NodeSample{ID: fmt.Sprintf("n%d", n), Nickname: "x", Timestamp: now, Stats: st})
		}
		if err := o.Write(context.Background(), sdk.Round{Time: now, Nodes: last}); err != nil {
			t.Fatal(err)
		}
	}
	// Without forgetting: 4×600 + 3. Forgetting past 1,000 unused: the
	// last two rounds' names at most, and the 1,000.
	if n := len(o.fleet.fams); n > 2*(600+3)+1000 {
		t.Errorf("%d families kept after 4 rounds of 600 new names each; old ones are not forgotten", n)
	}
	if got, want := exposition(t, o), clientGolang(t, "statsherd", last); got != want {
		t.Errorf("exposition differs from client_golang's after forgetting names\n--- got:\n%.2000s\n--- want:\n%.2000s", got, want)
	}
	// A forgotten name comes back when reported again.
	last[0].Stats.Counters["r0.n0.c1"] = 7
	if err := o.Write(context.Background(), sdk.Round{Time: now, Nodes: last}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(exposition(t, o), `statsherd_r0_n0_c1_total{nickname="x",node="n0"} 7`) {
		t.Error("a forgotten name reported again is not on the page")
	}
}

// TestScrapeDuringWrites scrapes while rounds are written: every scrape
// gets one whole page, of one round or the next, never a mix.
func TestScrapeDuringWrites(t *testing.T) {
	now := time.Now()
	o, u := start(t, now)
	done := make(chan error, 1)
	go func() {
		for i := range 20 {
			r := fleetRound(now, 50, 10)
			for _, n := range r.Nodes {
				n.Stats.Counters["round.seq"] = int64(i)
			}
			if err := o.Write(context.Background(), r); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for writing := true; writing; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
		resp, err := http.Get(u) // the transport asks for gzip and decompresses
		if err != nil {
			t.Fatal(err)
		}
		tp := expfmt.NewTextParser(model.LegacyValidation)
		mfs, err := tp.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("a page scraped during writes does not parse: %v", err)
		}
		if mf := mfs["statsherd_round_seq_total"]; mf != nil {
			seqs := map[float64]bool{}
			for _, m := range mf.Metric {
				seqs[m.GetCounter().GetValue()] = true
			}
			if len(seqs) != 1 || len(mf.Metric) != 50 {
				t.Fatalf("a page mixes rounds: %d series of round numbers %v", len(mf.Metric), seqs)
			}
		}
	}
}

// TestExpositionLabels: a series' labels are real labels beside node and
// nickname; one named node is served as exported_node, an empty one not
// at all; Prometheus's parser takes the page.
func TestExpositionLabels(t *testing.T) {
	now := time.Now()
	o := New(hclog.NewNullLogger()).(*output)
	o.now = func() time.Time { return now }
	o.cfg = settings{Prefix: "statsherd", StaleAfter: time.Hour}
	o.fleet = newFleet("statsherd")
	st := sdk.NewStats()
	st.Counters["http.requests"] = 1
	st.Counters[sdk.MustSeries("http.requests", sdk.L("status", "500"), sdk.L("route", "/lo\"gin"))] = 3
	st.Counters[sdk.MustSeries("http.requests", sdk.L("status", "200"), sdk.L("node", "other"))] = 4
	st.Stats[sdk.MustSeries("mem.used", sdk.L("env", ""))] = sdk.Int(5)
	r := sdk.Round{Time: now, Nodes: []sdk.NodeSample{{ID: "abcd", Nickname: "web", Timestamp: now, Stats: st}}}
	if err := o.Write(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	page := exposition(t, o)
	tp := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := tp.TextToMetricFamilies(strings.NewReader(page))
	if err != nil {
		t.Fatalf("Prometheus's parser refused the exposition: %v\n%s", err, page)
	}
	got := map[string]float64{}
	for _, m := range mfs["statsherd_http_requests_total"].GetMetric() {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		got[strings.Join(ls, ",")] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		"nickname=web,node=abcd":                                1,
		`nickname=web,node=abcd,route=/lo"gin,status=500`:       3,
		"nickname=web,node=abcd,exported_node=other,status=200": 4,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("series %v, want %v\n%s", got, want, page)
	}
	if m := mfs["statsherd_mem_used"].GetMetric(); len(m) != 1 || len(m[0].Label) != 2 || m[0].GetGauge().GetValue() != 5 {
		t.Errorf("mem.used{env=\"\"}: %v", m)
	}
}

// TestLabelsComeAndGo: label values that change every round do not pile
// up; the page shows the latest ones.
func TestLabelsComeAndGo(t *testing.T) {
	now := time.Unix(1764000000, 0)
	o := New(hclog.NewNullLogger()).(*output)
	o.now = func() time.Time { return now }
	o.cfg = settings{Prefix: "statsherd", StaleAfter: time.Hour}
	o.fleet = newFleet("statsherd")
	for round := range 6 {
		st := sdk.NewStats()
		for i := range 500 {
			st.Counters[sdk.MustSeries("req", sdk.L("id", fmt.Sprintf("r%d-%d", round, i)))] = int64(i)
		}
		if err := o.Write(context.Background(), sdk.Round{Time: now, Nodes: []sdk.NodeSample{{ID: "n0", Nickname: "x", Timestamp: now, Stats: st}}}); err != nil {
			t.Fatal(err)
		}
		exposition(t, o)
	}
	if n, k := len(o.fleet.lblText), len(o.fleet.counters); n > 2*500+compactAt+1 || k > 2*500+compactAt+1 {
		t.Errorf("%d label texts and %d series kept after 6 rounds of 500 new label values each; old ones are not forgotten", n, k)
	}
	page := exposition(t, o)
	if !strings.Contains(page, `statsherd_req_total{nickname="x",node="n0",id="r5-7"} 7`) || strings.Contains(page, `id="r4-`) {
		t.Errorf("the page after forgetting labels:\n%.1000s", page)
	}
}
