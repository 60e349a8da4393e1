package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// Binaries built from the working tree by TestMain.
var bins struct {
	statsherd, testproducer string
}

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m,
		testbin.Target{Path: &bins.statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"},
		testbin.Target{Path: &bins.testproducer, Pkg: "./host/testdata/testproducer"},
	))
}

// daemon is a running `statsherd host`.
type daemon struct {
	t      testing.TB
	dir    string
	cmd    *exec.Cmd
	stderr *testbin.Buffer
	done   chan struct{}
	status string // base URL of the status page
	statsd string // address of the statsd listener
}

// writeConfig writes host.hcl into dir; PLUGIN in src stands for the test
// producer's path.
func writeConfig(t testing.TB, dir, src string) string {
	t.Helper()
	path := filepath.Join(dir, "host.hcl")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(src, "PLUGIN", bins.testproducer)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket.
func shortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "sh")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startDaemon runs the host on the config src and waits until its status
// page is up.
func startDaemon(t testing.TB, src string) *daemon {
	t.Helper()
	return startDaemonEnv(t, src, nil)
}

// startDaemonEnv is startDaemon with env added to the host's environment
// (which its plugins and their children inherit).
func startDaemonEnv(t testing.TB, src string, env []string) *daemon {
	t.Helper()
	return startDaemonBin(t, bins.statsherd, src, env)
}

// startDaemonBin is startDaemonEnv running the statsherd binary bin.
func startDaemonBin(t testing.TB, bin, src string, env []string) *daemon {
	t.Helper()
	dir := shortTempDir(t)
	path := writeConfig(t, dir, src)
	d := &daemon{t: t, dir: dir, stderr: &testbin.Buffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(bin, "host", "-config", path)
	d.cmd.Stderr = d.stderr
	d.cmd.Env = append(os.Environ(), env...)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	for i := 0; ; i++ {
		b, err := os.ReadFile(filepath.Join(dir, "status.url"))
		if err == nil {
			d.status = strings.TrimSpace(string(b))
			break
		}
		select {
		case <-d.done:
			t.Fatalf("host exited: %v\n%s", d.cmd.ProcessState, d.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		if i > 400 {
			t.Fatalf("host did not start:\n%s", d.stderr)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "statsd.addr")); err == nil {
		d.statsd = strings.TrimSpace(string(b))
	}
	return d
}

// stop sends SIGTERM and waits for the host to exit.
func (d *daemon) stop() {
	if !testbin.Stop(d.cmd.Process, d.done, syscall.SIGTERM, 20*time.Second) {
		d.t.Errorf("host did not stop on SIGTERM:\n%s", d.stderr)
	}
}

// poll fetches /statistics?t=json, giving the host its poll timeout and a
// generous margin.
// statusPage is the text of the host's /statistics.
func (d *daemon) statusPage() string {
	d.t.Helper()
	resp, err := http.Get(d.status + "statistics")
	if err != nil {
		d.t.Fatalf("status page: %v\n%s", err, d.stderr)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return string(b)
}

func (d *daemon) poll(timeout time.Duration) (sdk.Stats, time.Duration) {
	d.t.Helper()
	c := http.Client{Timeout: timeout + 5*time.Second}
	start := time.Now()
	resp, err := c.Get(d.status + "statistics?t=json")
	if err != nil {
		d.t.Fatalf("poll: %v\n%s", err, d.stderr)
	}
	defer resp.Body.Close()
	var st sdk.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		d.t.Fatalf("poll: %v", err)
	}
	return st, time.Since(start)
}

// pollUntil polls until ok, or fails after a while.
func (d *daemon) pollUntil(what string, ok func(sdk.Stats) bool) sdk.Stats {
	d.t.Helper()
	var st sdk.Stats
	for i := 0; i < 300; i++ {
		st, _ = d.poll(time.Second)
		if ok(st) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("never %s; last answer %v\n%s", what, st, d.stderr)
	return st
}

// processesRunning lists the processes whose command line mentions s.
func processesRunning(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

func TestE2EFaultyProducersCostOnlyTheirOwnStats(t *testing.T) {
	t.Parallel()
	const pollTimeout = time.Second
	d := startDaemon(t, `
nickname     = "faulty"
poll_timeout = "1s"
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "good"  { plugin = "PLUGIN" }
producer "crash" {
  plugin = "PLUGIN"
  mode   = "crash"
}
producer "hang" {
  plugin = "PLUGIN"
  mode   = "hang"
}
`)
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		st, took := d.poll(pollTimeout)
		slowest = max(slowest, took)
		if v := st.Stats["good.answer"]; v != sdk.Int(42) {
			t.Errorf("poll %d: good.answer = %v, want 42", i, v)
		}
		if n := st.Counters["good.collects"]; n < int64(i+1) {
			t.Errorf("poll %d: good.collects = %d", i, n)
		}
		for _, bad := range []string{"crash.answer", "hang.answer"} {
			if _, ok := st.Stats[bad]; ok {
				t.Errorf("poll %d: %s present", i, bad)
			}
		}
		if i > 0 {
			for _, p := range []string{"crash", "hang"} {
				if st.Counters["statsherd.producer."+p+".failures"] == 0 {
					t.Errorf("poll %d: the failures of %s are not counted", i, p)
				}
			}
		}
	}
	t.Logf("slowest poll answer: %v (poll timeout %v)", slowest, pollTimeout)

	d.stop()
	if d.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("host exited with %v\n%s", d.cmd.ProcessState, d.stderr)
	}
	// SIGTERM leaves no plugin behind; the hung one may take a moment
	// to be reaped by the kernel.
	for i := 0; ; i++ {
		left := processesRunning(bins.testproducer)
		if len(left) == 0 {
			break
		}
		if i > 100 {
			t.Fatalf("plugins still running after the host stopped: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestE2EReportingAPICountsEveryIncrement(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, `
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
`)
	c, err := report.Dial(d.statsd)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100_000
	for i := 0; i < n; i++ {
		if err := c.Count("node.increments", 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := d.pollUntil("counted every increment", func(st sdk.Stats) bool { return st.Counters["node.increments"] >= n })
	if got := st.Counters["node.increments"]; got != n {
		t.Errorf("node.increments = %d, want %d", got, n)
	}
	if got := st.Counters["statsherd.statsd.dropped"]; got != 0 {
		t.Errorf("%d lines dropped", got)
	}
}

func TestE2EReloadKeepsOldConfigOnError(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, `
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "a" { plugin = "PLUGIN" }
`)
	c, err := report.Dial(d.statsd)
	if err != nil {
		t.Fatal(err)
	}
	c.Count("node.kept", 5)
	c.Close()
	d.pollUntil("counted", func(st sdk.Stats) bool { return st.Counters["node.kept"] == 5 })

	tests := []struct{ name, src string }{
		{"syntax error", "producer \"a\" {\n"},
		{"unknown attribute", "colour = \"red\"\nproducer \"a\" { plugin = \"PLUGIN\" }\n"},
		{"plugin rejects its block", "producer \"a\" {\n  plugin = \"PLUGIN\"\n  mode = \"explode\"\n}\n"},
		{"plugin does not exist", "producer \"a\" { plugin = \"/nonexistent/plugin\" }\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeConfig(t, d.dir, tt.src)
			d.cmd.Process.Signal(syscall.SIGHUP)
			for j := 0; strings.Count(d.stderr.String(), "reload failed") <= i; j++ {
				if j > 200 {
					t.Fatalf("no reload failure logged:\n%s", d.stderr)
				}
				time.Sleep(50 * time.Millisecond)
			}
			st, _ := d.poll(time.Second)
			if st.Stats["a.answer"] != sdk.Int(42) || st.Counters["node.kept"] != 5 {
				t.Errorf("after a bad reload: %v", st)
			}
		})
	}
	if !strings.Contains(d.stderr.String(), "host.hcl:1,") {
		t.Errorf("the diagnostics do not say where:\n%s", d.stderr)
	}

	// A good file: a unchanged keeps running, b starts, counters survive.
	before, _ := d.poll(time.Second)
	writeConfig(t, d.dir, `
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "a" { plugin = "PLUGIN" }
producer "b" { plugin = "PLUGIN" }
`)
	d.cmd.Process.Signal(syscall.SIGHUP)
	st := d.pollUntil("started b", func(st sdk.Stats) bool { return st.Stats["b.answer"] == sdk.Int(42) })
	if st.Counters["a.collects"] <= before.Counters["a.collects"] {
		t.Errorf("a was restarted: collects %d, then %d", before.Counters["a.collects"], st.Counters["a.collects"])
	}
	if st.Counters["node.kept"] != 5 {
		t.Errorf("statsd counter lost: %d", st.Counters["node.kept"])
	}

	// A changed block restarts that producer only; a removed one stops.
	writeConfig(t, d.dir, `
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "a" {
  plugin = "PLUGIN"
  prefix = "renamed"
}
`)
	d.cmd.Process.Signal(syscall.SIGHUP)
	st = d.pollUntil("restarted a", func(st sdk.Stats) bool { return st.Stats["renamed.answer"] == sdk.Int(42) })
	for _, gone := range []string{"a.answer", "b.answer", "statsherd.producer.b.up"} {
		if _, ok := st.Stats[gone]; ok {
			t.Errorf("%s still reported after the reload", gone)
		}
	}
	if st.Counters["node.kept"] != 5 {
		t.Errorf("statsd counter lost: %d", st.Counters["node.kept"])
	}
}

func TestE2EOnceMatchesWhatTheGathererReceives(t *testing.T) {
	t.Parallel()
	src := `
nickname = "once"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "p" { plugin = "PLUGIN" }
producer "q" {
  plugin = "PLUGIN"
  prefix = "other"
}
`
	d := startDaemon(t, src)
	daemonStats, _ := d.poll(time.Second)

	dir := shortTempDir(t)
	path := writeConfig(t, dir, src)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bins.statsherd, "host", "-config", path, "--once")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("--once: %v\n%s", err, stderr.String())
	}
	var once sdk.Stats
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&once); err != nil {
		t.Fatalf("--once output is not the gatherer's JSON: %v\n%s", err, stdout.String())
	}
	if got, want := names(once), names(daemonStats); got != want {
		t.Errorf("--once names:\n%s\nstatus page names:\n%s", got, want)
	}
	for _, k := range []string{"p.answer", "p.half", "other.answer"} {
		if once.Stats[k] != daemonStats.Stats[k] {
			t.Errorf("%s: --once %v, status page %v", k, once.Stats[k], daemonStats.Stats[k])
		}
	}
	if !bytes.Contains(stdout.Bytes(), []byte(`"p.half": 0.5`)) {
		t.Errorf("floats are not written as the gatherer receives them:\n%s", stdout.String())
	}
}

func names(st sdk.Stats) string {
	var out []string
	for k := range st.Counters {
		out = append(out, "counter "+k)
	}
	for k := range st.Stats {
		out = append(out, "stat "+k)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestE2EHostID(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	path := writeConfig(t, dir, "nickname = \"n\"\n")
	var ids []string
	for range 2 {
		out, err := exec.Command(bins.statsherd, "host", "id", "-config", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strings.TrimSpace(string(out)))
	}
	if len(ids[0]) != 32 || ids[0] != ids[1] {
		t.Errorf("node ids %q: want the same 32 characters twice", ids)
	}
	fi, err := os.Stat(filepath.Join(dir, "node.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("node key: %v %v", err, fi.Mode())
	}
}

func TestE2EBadConfigExitsBeforeStarting(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"unknown attribute", "nickname = \"n\"\ncolour = 1\n", "host.hcl:2,1-7: Unsupported argument"},
		{"malformed furl", "gatherer { furl = \"pb://nope\" }\n", "host.hcl:1,19-30: Invalid gatherer furl"},
		{"producer block", "producer \"p\" {\n  plugin = \"PLUGIN\"\n  mood = \"ok\"\n}\n", "host.hcl:3,3-7: Unsupported argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := shortTempDir(t)
			path := writeConfig(t, dir, tt.src)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, bins.statsherd, "host", "-config", path)
			cmd.Stderr = &stderr
			err := cmd.Run()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "status.url")); err == nil {
				t.Error("the host started anyway")
			}
		})
	}
}

func TestE2EUnreachableGatherer(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, `
status { listen = "127.0.0.1:0" }
reporting { statsd = "" }
gatherer {
  furl        = "pb://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@127.0.0.1:1/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  min_backoff = "100ms"
  max_backoff = "200ms"
}
`)
	st := d.pollUntil("tried the gatherer", func(st sdk.Stats) bool {
		return st.Stats["statsherd.link.configured"] == sdk.Int(1) && strings.Contains(d.stderr.String(), "gatherer unreachable")
	})
	if st.Stats["statsherd.link.connected"] != sdk.Int(0) {
		t.Errorf("connected to nothing? %v", st.Stats)
	}
	resp, err := http.Get(d.status + "statistics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "not connected") || strings.Contains(string(b), "bbbbbbbbbbbbbbbb") {
		t.Errorf("status page should say not connected, without the secret:\n%s", b)
	}
}

func TestE2EOnceMatchesTheGatherersSnapshot(t *testing.T) {
	t.Parallel()
	rg := startGatherer(t, "500ms", "400ms")
	furl := rg.furl

	src := `
nickname     = "snap"
poll_timeout = "300ms"
gatherer { furl_file = "` + furl + `" }
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "p" { plugin = "PLUGIN" }
`
	startDaemon(t, src)
	statsfile := rg.snapshot
	type sample struct {
		Nickname string `json:"nickname"`
		Stats    struct {
			Counters map[string]json.RawMessage `json:"counters"`
			Stats    map[string]json.RawMessage `json:"stats"`
		} `json:"stats"`
	}
	var got sample
	for i := 0; ; i++ {
		var snap map[string]sample
		if b, err := os.ReadFile(statsfile); err == nil && json.Unmarshal(b, &snap) == nil {
			for _, s := range snap {
				if s.Nickname == "snap" && string(s.Stats.Stats["statsherd.link.connected"]) == "1" {
					got = s
				}
			}
		}
		if got.Nickname != "" {
			break
		}
		if i > 400 {
			t.Fatalf("the host never reached the gatherer's snapshot:\n%s", rg.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	dir := shortTempDir(t)
	path := writeConfig(t, dir, src)
	out, err := exec.Command(bins.statsherd, "host", "-config", path, "--once").Output()
	if err != nil {
		t.Fatalf("--once: %v", err)
	}
	var once struct {
		Counters map[string]json.RawMessage `json:"counters"`
		Stats    map[string]json.RawMessage `json:"stats"`
	}
	if err := json.Unmarshal(out, &once); err != nil {
		t.Fatal(err)
	}
	keys := func(c, s map[string]json.RawMessage) string {
		var out []string
		for k := range c {
			out = append(out, "counter "+k)
		}
		for k := range s {
			out = append(out, "stat "+k)
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	if a, b := keys(once.Counters, once.Stats), keys(got.Stats.Counters, got.Stats.Stats); a != b {
		t.Errorf("--once names:\n%s\n\nthe gatherer's names:\n%s", a, b)
	}
	for _, k := range []string{"p.answer", "p.half", "statsherd.link.configured"} {
		if a, b := string(once.Stats[k]), string(got.Stats.Stats[k]); a != b {
			t.Errorf("%s: --once %s, the gatherer %s", k, a, b)
		}
	}
}

// TestE2EKilledHostLeavesNoPlugin kills the host with SIGKILL, which it
// cannot catch: the kernel still ends its plugins (the supervisor asks for
// a parent-death signal), so no plugin outlives a crashed daemon.
func TestE2EKilledHostLeavesNoPlugin(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, `
nickname = "killed"
reporting { statsd = "127.0.0.1:0" }
status { listen = "127.0.0.1:0" }
producer "a" { plugin = "PLUGIN" }
producer "b" { plugin = "PLUGIN" }
`)
	d.pollUntil("both producers answer", func(st sdk.Stats) bool {
		return st.Stats["a.answer"] == sdk.Int(42) && st.Stats["b.answer"] == sdk.Int(42)
	})
	children := childrenOf(d.cmd.Process.Pid)
	if len(children) < 2 {
		t.Fatalf("host has %d child processes, want its 2 plugins", len(children))
	}
	d.cmd.Process.Kill()
	<-d.done
	for i := 0; ; i++ {
		var alive []int
		for _, pid := range children {
			if processAlive(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return
		}
		if i > 100 {
			t.Fatalf("plugin processes %v outlived the killed host", alive)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// processAlive reports whether pid runs (a zombie counts as gone).
func processAlive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestE2EStatsdPortTaken: a host whose statsd port another program holds
// runs without statsd, polled by a real gatherer, and says statsd is down
// (its own stats, its status page, one warning); once the port is free,
// statsd comes up and counts.
func TestE2EStatsdPortTaken(t *testing.T) {
	t.Parallel()
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	addr := other.LocalAddr().String()
	g := startGatherer(t, "300ms", "250ms")
	d := startDaemon(t, fmt.Sprintf(`
nickname = "taken"
gatherer { furl_file = %q }
reporting {
  statsd       = %q
  statsd_retry = "200ms"
  socket       = ""
}
status { listen = "127.0.0.1:0" }
`, g.furl, addr))
	d.pollUntil("statsd down in the host's own stats", func(st sdk.Stats) bool {
		v, ok := st.Stats["statsherd.statsd.up"]
		return ok && v == sdk.Int(0)
	})
	page := d.statusPage()
	if !strings.Contains(page, "statsd: DOWN (") || !strings.Contains(page, "address already in use") {
		t.Errorf("status page does not show statsd down:\n%s", page)
	}
	// The gatherer polls it all the same, and sees statsd down.
	snapshotUntil(t, g.snapshot, "taken", "the host's statsd down", func(s nodeStats) bool {
		return string(s.Stats.Stats["statsherd.statsd.up"]) == "0"
	})
	if _, err := os.Stat(filepath.Join(d.dir, "statsd.addr")); err == nil {
		t.Error("statsd.addr written while statsd is down")
	}

	other.Close()
	d.pollUntil("statsd up once its port is free", func(st sdk.Stats) bool {
		return st.Stats["statsherd.statsd.up"] == sdk.Int(1)
	})
	c, err := report.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d.pollUntil("a statsd count after the port was freed", func(st sdk.Stats) bool {
		c.Count("port_taken.hits", 1)
		c.Flush()
		return st.Counters["port_taken.hits"] > 0
	})
	snapshotUntil(t, g.snapshot, "taken", "the host's statsd up", func(s nodeStats) bool {
		return string(s.Stats.Stats["statsherd.statsd.up"]) == "1"
	})
	if page := d.statusPage(); !strings.Contains(page, "statsd: listening on "+addr) {
		t.Errorf("status page does not show statsd listening on %s:\n%s", addr, page)
	}
	if n := strings.Count(d.stderr.String(), "running without statsd"); n != 1 {
		t.Errorf("said %d times that it runs without statsd, want once:\n%s", n, d.stderr)
	}
}
