package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/plugindoc"
	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/sdk"
)

func TestMetricName(t *testing.T) {
	tests := []struct{ prefix, name, want string }{
		{"statsherd", "load_monitor.avg_load", "statsherd_load_monitor_avg_load"},
		{"statsherd", "cpu_monitor.1min_avg", "statsherd_cpu_monitor_1min_avg"},
		{"", "9lives.x-y", "_9lives_x_y"},
		{"p", "a.b_total", "p_a_b_total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MetricName(tt.prefix, tt.name); got != tt.want {
				t.Errorf("MetricName(%q, %q) = %q, want %q", tt.prefix, tt.name, got, tt.want)
			}
		})
	}
}

// start configures an output on a free loopback port and returns it with
// its /metrics URL.
func start(t testing.TB, now time.Time) (*output, string) {
	t.Helper()
	o := New(hclog.NewNullLogger()).(*output)
	o.now = func() time.Time { return now }
	if err := o.Configure(context.Background(), sdk.Config(`{"listen": "127.0.0.1:0", "prefix": "statsherd", "stale_after": 300000000000}`)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o, "http://" + o.ln.Addr().String() + "/metrics"
}

func round(now time.Time) sdk.Round {
	return sdk.Round{Time: now, Nodes: []sdk.NodeSample{
		{ID: "aaaabbbbccccdddd", Nickname: "storage-01", Timestamp: now.Add(-10 * time.Second), Stats: sdk.Stats{
			Counters: map[string]int64{"storage_server.allocate": 12},
			Stats:    map[string]sdk.Value{"load_monitor.avg_load": sdk.Float(0.25), "storage_server.consumed": sdk.Null},
		}},
		{ID: "eeeeffffgggghhhh", Nickname: "old-node", Timestamp: now.Add(-time.Hour), Stats: sdk.Stats{
			Counters: map[string]int64{"storage_server.allocate": 99},
		}},
	}}
}

func TestMetrics(t *testing.T) {
	now := time.Now()
	o, u := start(t, now)
	if err := o.Write(context.Background(), round(now)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		"# TYPE statsherd_storage_server_allocate_total counter",
		`statsherd_storage_server_allocate_total{nickname="storage-01",node="aaaabbbbccccdddd"} 12`,
		"# TYPE statsherd_load_monitor_avg_load gauge",
		`statsherd_load_monitor_avg_load{nickname="storage-01",node="aaaabbbbccccdddd"} 0.25`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	for _, unwanted := range []string{"old-node", "storage_server_consumed"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("/metrics has %q (a stale node or a null value):\n%s", unwanted, body)
		}
	}
}

// TestRealPrometheus has a real Prometheus server scrape the output and
// answers a query with the value a node reported.
func TestRealPrometheus(t *testing.T) {
	bin := testenv.LookPath(t, "prometheus", "prometheus")
	now := time.Now()
	o, u := start(t, now)
	if err := o.Write(context.Background(), round(now)); err != nil {
		t.Fatal(err)
	}
	target := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/metrics")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: statsherd
    static_configs:
      - targets: [%q]
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+web)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()
	query := "http://" + web + "/api/v1/query?query=" + url.QueryEscape(`statsherd_storage_server_allocate_total{nickname="storage-01"}`)
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		v, err := promValue(query)
		if err == nil && v == "12" {
			return
		}
		last = fmt.Sprintf("value %q, error %v", v, err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
	t.Fatalf("prometheus never reported the node's counter (last: %s)\nprometheus log:\n%s", last, log)
}

// promValue runs an instant query and returns the single sample's value.
func promValue(u string) (string, error) {
	resp, err := http.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return "", fmt.Errorf("status %s, %d results", r.Status, len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return s, nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestExample decodes example.hcl against the output's schema, and holds
// the README to the schema and stats, so neither can rot.
func TestExample(t *testing.T) {
	plugindoc.DecodeExample(t, "example.hcl", sdk.KindOutput, Name, New(hclog.NewNullLogger()))
	plugindoc.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}

// TestAllowedHosts (issue 25, item 8): on a loopback listen /metrics
// answers only loopback Host headers (DNS rebinding), unless
// allowed_hosts names others; a name not allowed gets 421.
func TestAllowedHosts(t *testing.T) {
	get := func(u, host string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	_, u := start(t, time.Now())
	for host, want := range map[string]int{"127.0.0.1:9469": 200, "localhost": 200, "[::1]:9469": 200, "rebound.example:9469": http.StatusMisdirectedRequest} {
		if got := get(u, host); got != want {
			t.Errorf("default, Host %q: %d, want %d", host, got, want)
		}
	}
	o := New(hclog.NewNullLogger()).(*output)
	if err := o.Configure(context.Background(), sdk.Config(`{"listen": "127.0.0.1:0", "allowed_hosts": ["prom.example"]}`)); err != nil {
		t.Fatal(err)
	}
	defer o.Close(context.Background())
	u = "http://" + o.ln.Addr().String() + "/metrics"
	for host, want := range map[string]int{"prom.example:9469": 200, "PROM.example": 200, "127.0.0.1": http.StatusMisdirectedRequest} {
		if got := get(u, host); got != want {
			t.Errorf("allowed_hosts, Host %q: %d, want %d", host, got, want)
		}
	}
}
