package remote_write_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/testenv"
)

// needBin finds a receiver's executable: missing, it fails the test under
// CI=true (.ci/run installs it) and skips it otherwise.
func needBin(t testing.TB, name, pkg string) string {
	t.Helper()
	return testenv.LookPath(t, name, pkg)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// receiver is a real VictoriaMetrics or Prometheus started by a test, on
// a loopback port of its own; it is stopped by its PID.
type receiver struct {
	t      testing.TB
	kind   string // "vm" or "prometheus"
	bin    string
	args   []string
	addr   string
	dir    string
	cmd    *exec.Cmd
	done   chan struct{}
	logf   string
	starts int
}

// startVM starts Debian's victoria-metrics with extra flags.
func startVM(t testing.TB, flags ...string) *receiver {
	t.Helper()
	bin := needBin(t, "victoria-metrics", "victoria-metrics")
	dir := t.TempDir()
	addr := freeAddr(t)
	args := append([]string{"-httpListenAddr=" + addr, "-storageDataPath=" + filepath.Join(dir, "data"),
		"-retentionPeriod=1", "-search.latencyOffset=0s", "-loggerLevel=WARN"}, flags...)
	r := &receiver{t: t, kind: "vm", bin: bin, args: args, addr: addr, dir: dir}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// startProm starts Debian's prometheus (2.42) as a remote write receiver.
func startProm(t testing.TB) *receiver {
	t.Helper()
	bin := needBin(t, "prometheus", "prometheus")
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  scrape_interval: 1h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr, "--web.enable-remote-write-receiver", "--log.level=warn"}
	r := &receiver{t: t, kind: "prometheus", bin: bin, args: args, addr: addr, dir: dir}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// WriteURL is where remote write goes.
func (r *receiver) WriteURL() string {
	return "http://" + r.addr + "/api/v1/write" // the same path on both
}

// start (re)starts the process on the same address and data and waits
// until it answers. While the receiver was stopped, its port may have
// been taken for a moment (an outgoing connection of another test gets
// an ephemeral port from the same range): a start that finds it in use
// is tried again for a few seconds.
func (r *receiver) start() {
	r.t.Helper()
	for attempt := 0; ; attempt++ {
		inUse := r.launch()
		if !inUse {
			return
		}
		if attempt >= 20 {
			r.t.Fatalf("%s: its address %s stayed in use:\n%s", r.kind, r.addr, r.log())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// launch starts the process once and waits until it answers; it returns
// true if the process exited because its address was in use.
func (r *receiver) launch() (inUse bool) {
	r.t.Helper()
	r.starts++
	r.logf = filepath.Join(r.dir, fmt.Sprintf("%s.%d.log", r.kind, r.starts))
	logf, err := os.Create(r.logf)
	if err != nil {
		r.t.Fatal(err)
	}
	defer logf.Close()
	r.cmd = exec.Command(r.bin, r.args...)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	ready := "http://" + r.addr + "/health"
	if r.kind == "prometheus" {
		ready = "http://" + r.addr + "/-/ready"
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return false
			}
		}
		select {
		case <-r.done:
			if strings.Contains(r.log(), "address already in use") {
				return true
			}
			r.t.Fatalf("%s exited at start:\n%s", r.kind, r.log())
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s not ready after 60 s:\n%s", r.kind, r.log())
		}
	}
}

// stop ends the process (by its PID) and waits for it.
func (r *receiver) stop() {
	if r.cmd == nil {
		return
	}
	testbin.Stop(r.cmd.Process, r.done, syscall.SIGTERM, 30*time.Second)
}

func (r *receiver) log() string {
	b, _ := os.ReadFile(r.logf)
	return string(b)
}

// point is one sample as the receiver stores it.
type point struct {
	MS    int64
	Value float64
}

// series maps a series (its labels, as {a="b",…} sorted) to its samples.
type series map[string][]point

func labelKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// query returns every sample of the series matching the selector, read
// back over the receiver's HTTP API: VictoriaMetrics's /api/v1/export,
// Prometheus's range-vector query.
func (r *receiver) query(selector string) (series, error) {
	if r.kind == "vm" {
		return r.vmExport(selector)
	}
	return r.promQuery(selector)
}

func (r *receiver) vmExport(selector string) (series, error) {
	if resp, err := http.Get("http://" + r.addr + "/internal/force_flush"); err == nil {
		resp.Body.Close()
	}
	resp, err := http.Get("http://" + r.addr + "/api/v1/export?match[]=" + url.QueryEscape(selector) + "&start=0")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("export: %s: %s", resp.Status, b)
	}
	out := series{}
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var line struct {
			Metric     map[string]string
			Values     []float64
			Timestamps []int64
		}
		if err := dec.Decode(&line); err != nil {
			return nil, err
		}
		k := labelKey(line.Metric)
		for i, ts := range line.Timestamps {
			out[k] = append(out[k], point{ts, line.Values[i]})
		}
	}
	for _, p := range out {
		sort.Slice(p, func(i, j int) bool { return p[i].MS < p[j].MS })
	}
	return out, nil
}

func (r *receiver) promQuery(selector string) (series, error) {
	q := url.Values{"query": {selector + "[1d]"}, "time": {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)}}
	resp, err := http.Get("http://" + r.addr + "/api/v1/query?" + q.Encode())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Values [][2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", selector, body.Error)
	}
	out := series{}
	for _, s := range body.Data.Result {
		k := labelKey(s.Metric)
		for _, v := range s.Values {
			sec, _ := v[0].(float64)
			str, _ := v[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return nil, fmt.Errorf("value %q: %w", str, err)
			}
			out[k] = append(out[k], point{int64(sec*1000 + 0.5), f})
		}
	}
	return out, nil
}
