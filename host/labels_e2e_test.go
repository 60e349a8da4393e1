package host_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs argv, its output kept in dir/name.log, stopped (by
// its pid) at the end of the test.
func startProcess(t *testing.T, dir, name string, argv ...string) *testbin.Buffer {
	t.Helper()
	log := &testbin.Buffer{}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if !testbin.Stop(cmd.Process, done, syscall.SIGTERM, 20*time.Second) {
			t.Errorf("%s did not stop on SIGTERM", name)
		}
	})
	return log
}

// startPrometheus runs a real Prometheus scraping jobs (name → target)
// every second, and returns its HTTP API's base URL.
func startPrometheus(t *testing.T, jobs map[string]string) (string, *testbin.Buffer) {
	t.Helper()
	bin := testenv.LookPath(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfg := "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
	for name, target := range jobs {
		cfg += fmt.Sprintf("  - job_name: %s\n    static_configs:\n      - targets: [%q]\n", name, target)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freeAddr(t)
	log := startProcess(t, dir, "prometheus", bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web)
	return "http://" + web, log
}

// promSeries is one series of a query's answer: its labels, and its
// samples (one for an instant vector).
type promSeries struct {
	Metric map[string]string
	Value  [2]any
	Values [][2]any
}

func promQuery(ctx context.Context, api, query string, at time.Time) ([]promSeries, error) {
	u := api + "/api/v1/query?query=" + url.QueryEscape(query) + "&time=" + strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct{ Result []promSeries }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", query, r.Error)
	}
	return r.Data.Result, nil
}

func sampleValue(v [2]any) float64 {
	s, _ := v[1].(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// seriesKey is a series' name and labels, without those named in drop.
func seriesKey(m map[string]string, drop ...string) string {
	var parts []string
	for k, v := range m {
		if !slices.Contains(drop, k) {
			parts = append(parts, k+"="+strconv.Quote(v))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// TestE2ENodeExporterLabels: Debian's prometheus-node-exporter, scraped
// by the openmetrics producer of a real host, through a real gatherer and
// its prometheus output, reaches a real Prometheus as the very series (names
// and label sets, plus node and nickname) that the same Prometheus gets
// scraping node_exporter directly, with values that agree within one
// scrape interval.
func TestE2ENodeExporterLabels(t *testing.T) {
	t.Parallel()
	nodeExporter := testenv.LookPath(t, "prometheus-node-exporter", "prometheus-node-exporter")
	ne := freeAddr(t)
	// Its own flags: a few collectors, no Go runtime metrics of its own,
	// so both sides scrape what the machine measures.
	startProcess(t, t.TempDir(), "node_exporter", nodeExporter, "--web.listen-address="+ne,
		"--web.disable-exporter-metrics", "--collector.disable-defaults",
		"--collector.cpu", "--collector.loadavg", "--collector.meminfo", "--collector.stat", "--collector.uname", "--collector.time")
	out := freeAddr(t)
	g := startGathererOutputs(t, "1s", "900ms", `
output "prometheus" {
  listen = "`+out+`"
  prefix = ""
}
`)
	startDaemon(t, `
nickname = "nodex"
gatherer { furl_file = "`+g.furl+`" }
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "openmetrics" { url = "http://`+ne+`/metrics" }
`)
	api, plog := startPrometheus(t, map[string]string{"direct": ne, "statsherd": out})

	// Both sides' series, at one evaluation time.
	ctx := t.Context()
	ours := func(m map[string]string) bool {
		n := m["__name__"]
		return m["nickname"] == "nodex" && n != "node_last_seen_timestamp_seconds" &&
			!strings.HasPrefix(n, "statsherd_") && !strings.HasPrefix(n, "openmetrics_")
	}
	var direct, via map[string]float64
	var at time.Time
	deadline := time.Now().Add(60 * time.Second)
	for {
		at = time.Now().Add(-time.Second)
		d, err1 := promQuery(ctx, api, `{job="direct"}`, at)
		v, err2 := promQuery(ctx, api, `{job="statsherd"}`, at)
		direct, via = map[string]float64{}, map[string]float64{}
		for _, s := range d {
			if !synthetic(s.Metric["__name__"]) {
				direct[seriesKey(s.Metric, "job", "instance")] = sampleValue(s.Value)
			}
		}
		for _, s := range v {
			if ours(s.Metric) {
				if s.Metric["node"] == "" {
					t.Fatalf("a series without its node label: %v", s.Metric)
				}
				via[seriesKey(s.Metric, "job", "instance", "node", "nickname")] = sampleValue(s.Value)
			}
		}
		if err1 == nil && err2 == nil && len(direct) > 50 && len(via) == len(direct) {
			break
		}
		if time.Now().After(deadline) {
			for k := range direct {
				if _, ok := via[k]; !ok {
					t.Errorf("scraped directly but not through statsherd: %s", k)
				}
			}
			t.Fatalf("no matching series after 60s: %d direct, %d through statsherd (errors %v, %v)\nprometheus:\n%s\ngatherer:\n%s",
				len(direct), len(via), err1, err2, plog, g.log)
		}
		time.Sleep(time.Second)
	}
	for k := range direct {
		if _, ok := via[k]; !ok {
			t.Errorf("scraped directly but not through statsherd: %s", k)
		}
	}
	for k := range via {
		if _, ok := direct[k]; !ok {
			t.Errorf("through statsherd but not scraped directly: %s", k)
		}
	}
	// Values: statsherd's sample was taken up to one poll (1s) and one
	// scrape (1s) before Prometheus's, so it lies within the direct
	// samples of the few seconds before, widened by how much the series
	// moves in one scrape interval (and 1 for a counter, which statsherd
	// holds as an integer).
	// Some seconds of samples on both sides first.
	time.Sleep(8 * time.Second)
	at = time.Now().Add(-time.Second)
	v, err := promQuery(ctx, api, `{job="statsherd"}`, at)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range v {
		if ours(s.Metric) {
			via[seriesKey(s.Metric, "job", "instance", "node", "nickname")] = sampleValue(s.Value)
		}
	}
	window, err := promQuery(ctx, api, `{job="direct"}[8s]`, at)
	if err != nil {
		t.Fatal(err)
	}
	checked, gaugesOff := 0, 0
	for _, s := range window {
		k := seriesKey(s.Metric, "job", "instance")
		got, ok := via[k]
		if !ok || len(s.Values) == 0 {
			continue
		}
		lo, hi, step := math.Inf(1), math.Inf(-1), 0.0
		for i, v := range s.Values {
			x := sampleValue(v)
			lo, hi = min(lo, x), max(hi, x)
			if i > 0 {
				step = max(step, math.Abs(x-sampleValue(s.Values[i-1])))
			}
		}
		slack := step + 1e-9*math.Abs(hi)
		if strings.HasSuffix(s.Metric["__name__"], "_total") {
			slack += 1
		}
		checked++
		if got >= lo-slack && got <= hi+slack {
			continue
		}
		msg := fmt.Sprintf("%s: %v through statsherd, direct samples of the last 8s in [%v, %v] (%d samples; one scrape moves it at most %v)", k, got, lo, hi, len(s.Values), step)
		if strings.HasSuffix(s.Metric["__name__"], "_total") {
			t.Error(msg) // a counter only goes up: no excuse
			continue
		}
		// A gauge may spike between two of Prometheus's scrapes, just
		// when statsherd's poll took its sample (node_memory_Writeback_bytes
		// does): a few may disagree, not many.
		t.Log(msg)
		gaugesOff++
	}
	if checked < len(direct)*9/10 {
		t.Errorf("values compared for %d series of %d", checked, len(direct))
	}
	if gaugesOff > checked/20 {
		t.Errorf("%d gauges of %d series disagree (see above)", gaugesOff, checked)
	}
	t.Logf("%d series, names and labels the same both ways; %d values compared", len(direct), checked)
}

// synthetic reports whether name is one of the series Prometheus adds to
// every target it scrapes (not node_exporter's).
func synthetic(name string) bool {
	switch name {
	case "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added":
		return true
	}
	return false
}

// TestE2EDatadogTagsByStatus: datadog-go sends tagged counters, timers
// and gauges to a real host; through a real gatherer and its prometheus
// output, a real Prometheus answers sum by (status) per status.
func TestE2EDatadogTagsByStatus(t *testing.T) {
	t.Parallel()
	out := freeAddr(t)
	g := startGathererOutputs(t, "1s", "900ms", `
output "prometheus" { listen = "`+out+`" }
`)
	d := startDaemon(t, `
nickname = "dogtags"
gatherer { furl_file = "`+g.furl+`" }
reporting {
  statsd = "127.0.0.1:0"
  socket = ""
}
status { listen = "127.0.0.1:0" }
`)
	api, plog := startPrometheus(t, map[string]string{"statsherd": out})
	c, err := statsd.New(d.statsd, statsd.WithoutTelemetry(), statsd.WithoutClientSideAggregation(),
		statsd.WithoutOriginDetection(), statsd.WithNamespace("web."))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range []struct {
		status, route string
		n             int64
	}{{"200", "/login", 5}, {"200", "/home", 7}, {"500", "/login", 2}, {"500", "/home", 1}, {"404", "/x", 3}} {
		tags := []string{"status:" + r.status, "route:" + r.route}
		if err := c.Count("requests", r.n, tags, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Gauge("inflight", float64(r.n), tags, 1); err != nil {
			t.Fatal(err)
		}
		if err := c.Timing("latency", time.Duration(r.n)*time.Millisecond, tags, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{
		`sum by (status) (statsherd_web_requests_total{nickname="dogtags"})`: {"200": 12, "500": 3, "404": 3},
		`sum by (status) (statsherd_web_inflight{nickname="dogtags"})`:       {"200": 12, "500": 3, "404": 3},
	}
	deadline := time.Now().Add(60 * time.Second)
	for q, w := range want {
		for {
			res, err := promQuery(t.Context(), api, q, time.Now())
			got := map[string]float64{}
			for _, s := range res {
				got[s.Metric["status"]] = sampleValue(s.Value)
			}
			if err == nil && fmt.Sprint(got) == fmt.Sprint(w) {
				t.Logf("%s = %v", q, got)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v, %v; want %v\nprometheus:\n%s\nhost:\n%s", q, got, err, w, plog, d.stderr)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	// A timer's tags stay in its summaries' names (their munin names
	// put the tags before .count, .p99, …): one series per tag set.
	res, err := promQuery(t.Context(), api, `statsherd_web_latency_route__login_status_500_count{nickname="dogtags"}`, time.Now())
	if err != nil || len(res) != 1 {
		t.Errorf("the tagged timer's summary: %v, %v", res, err)
	}
}
