// Package e2e tests the status pages in a real browser, against real
// daemons: a gatherer, hosts, and the load tool's simulated hosts.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/testbin"
)

var bins struct{ statsherd, loadgen string }

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m,
		testbin.Target{Path: &bins.statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"},
		testbin.Target{Path: &bins.loadgen, Pkg: "github.com/statsherd/statsherd/cmd/statsherd-loadgen"},
	))
}

// chromium is Debian's chromium; CI installs it (.ci/run).
const chromium = "/usr/bin/chromium"

// The fleet of the test: simulated hosts that stay, simulated hosts
// that leave, a host daemon with producers (enrolled), a host daemon that
// waits for approval, and a revoked key that keeps trying.
const (
	staying = 200
	leaving = 20
)

// TestBrowserStatusPages opens the gatherer's fleet view, a node's page
// and a host's page in headless chromium, against real daemons, and checks
// what they show: the rows and their states, the plots, no console
// error, the refresh script at work. A screenshot of each page is saved
// in $STATSHERD_SCREENSHOTS (default: the test's temporary directory).
func TestBrowserStatusPages(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI installs Debian's chromium package (.ci/run)", chromium)
		}
		t.Skipf("%s is missing (apt-get install chromium); CI runs this test", chromium)
	}
	shots := os.Getenv("STATSHERD_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := shortTempDir(t)

	// Keys of the simulated hosts: the load tool reads them from its key
	// cache, and the node list names them.
	keys := filepath.Join(tmp, "keys")
	os.MkdirAll(keys, 0o700)
	var pems bytes.Buffer
	var ids []string
	for range staying + leaving + 1 {
		k, err := identity.NewKeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		id, err := identity.FromKeyPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		pems.Write(k)
		ids = append(ids, id.ID)
	}
	writeFile(t, filepath.Join(keys, "keys.pem"), pems.String())
	revoked := ids[staying+leaving]

	// The gatherer: approval needed, so that a new host waits.
	gdir := filepath.Join(tmp, "gatherer")
	if out, err := exec.Command(bins.statsherd, "create-gatherer", gdir).CombinedOutput(); err != nil {
		t.Fatalf("create-gatherer: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(gdir, "gatherer.hcl"), `
nickname      = "central"
poll_interval = "1s"
poll_timeout  = "800ms"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
enrolment { policy = "approve" }
# Every simulated host comes from 127.0.0.1 at once: no refusals and
# retries (each retry a new ephemeral port, which other tests' daemons
# may be about to bind).
limits {
  max_handshakes             = 1000
  max_handshakes_per_address = 1000
}
status { listen = "127.0.0.1:0" }
output "munin" { path = "stats.json" }
`)
	// The host daemons, and their node ids.
	web := hostConfig(t, filepath.Join(tmp, "web"), "web-01", gdir, `
producer "load_monitor" {}
producer "uptime" {}
producer "cpu_monitor" {}
`)
	newcomer := hostConfig(t, filepath.Join(tmp, "new"), "new-node", gdir, "")
	webID, newID := hostID(t, web), hostID(t, newcomer)

	// The node list: the simulated hosts and web-01 enrolled, one key
	// revoked; new-node is not on it.
	now := time.Now().UTC()
	var nodes []registry.Node
	for i, id := range ids[:staying+leaving] {
		nodes = append(nodes, registry.Node{ID: id, Nickname: fmt.Sprintf("loadgen-%05d", i), State: registry.StateEnrolled, FirstSeen: now, LastSeen: now, Changed: now})
	}
	nodes = append(nodes, registry.Node{ID: webID, Nickname: "web-01", State: registry.StateEnrolled, FirstSeen: now, LastSeen: now, Changed: now})
	nodes = append(nodes, registry.Node{ID: revoked, Nickname: fmt.Sprintf("loadgen-%05d", staying+leaving), State: registry.StateRevoked, FirstSeen: now, LastSeen: now, Changed: now})
	b, _ := json.MarshalIndent(map[string]any{"version": 1, "nodes": nodes}, "", " ")
	writeFile(t, filepath.Join(gdir, registry.NodesFile), string(b))

	g := startProc(t, bins.statsherd, "gatherer", "-basedir", gdir)
	status := waitFile(t, filepath.Join(gdir, basedir.StatusURLFile), g)
	furlFile := filepath.Join(gdir, basedir.FurlFile)

	loadgen := func(first, n int) *proc {
		return startProc(t, bins.loadgen, "-join", "-furl", furlFile, "-keys", keys, "-first", fmt.Sprint(first), "-n", fmt.Sprint(n), "-k", "12")
	}
	loadgen(0, staying)
	gone := loadgen(staying, leaving)
	loadgen(staying+leaving, 1) // the revoked key: refused, again and again
	webHost := startProc(t, bins.statsherd, "host", "-config", web)
	startProc(t, bins.statsherd, "host", "-config", newcomer)
	webStatus := waitFile(t, filepath.Join(filepath.Dir(web), "status.url"), webHost)
	// Node software counts on web-01, through its statsd listener.
	statsd, err := net.Dial("udp", waitFile(t, filepath.Join(filepath.Dir(web), "statsd.addr"), webHost))
	if err != nil {
		t.Fatal(err)
	}
	stopCounting := make(chan struct{})
	counted := make(chan struct{})
	go func() {
		defer close(counted)
		for i := 0; ; i++ {
			fmt.Fprintf(statsd, "web.requests:%d|c\nweb.latency_ms:%d|ms\nweb.sessions:%d|g", 1+i%7, 20+i%30, 100+i%13)
			select {
			case <-stopCounting:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stopCounting); <-counted; statsd.Close() }()

	fleet := func() gatherer.FleetPage {
		var s gatherer.Status
		getJSON(t, status+"?t=json&hosts=0&n=1", &s)
		return *s.Fleet
	}
	waitUntil(t, "every host connected and new-node pending", g, func() bool {
		f := fleet()
		return f.Counts["connected"] == staying+leaving+1 && f.Counts["pending"] == 1 && f.Counts["revoked"] == 1
	})
	gone.stop()
	waitUntil(t, "the leaving hosts lost", g, func() bool {
		f := fleet()
		return f.Counts["lost"] == leaving && f.Counts["connected"] == staying+1
	})
	// web-01's page watches it: its stats show from the next round, and
	// its counters' rates from the one after.
	getJSON(t, status+"node/"+webID+"?t=json", &gatherer.NodePage{})
	waitUntil(t, "web-01's stats with rates", g, func() bool {
		var p gatherer.NodePage
		getJSON(t, status+"node/"+webID+"?t=json", &p)
		for _, s := range p.Stats {
			if s.Rate != nil {
				return true
			}
		}
		return false
	})

	br := startBrowser(t, chromium)
	check := func(page string) {
		t.Helper()
		for _, p := range br.takeProblems() {
			t.Errorf("%s: %s", page, p)
		}
	}

	// The fleet view: every row, in its state, and the plots.
	br.open(status + "?n=1000")
	var counts map[string]int
	br.eval(`(function(){var c={};document.querySelectorAll("#fleet tbody tr").forEach(function(r){c[r.dataset.state]=(c[r.dataset.state]||0)+1});return c})()`, &counts)
	want := map[string]int{"connected": staying + 1, "lost": leaving, "pending": 1, "revoked": 1}
	for s, n := range want {
		if counts[s] != n {
			t.Errorf("fleet view: %d rows %s, want %d (all: %v)", counts[s], s, n, counts)
		}
	}
	var rows []string
	br.eval(`Array.from(document.querySelectorAll("#fleet tbody tr")).map(function(r){return r.innerText})`, &rows)
	findRow := func(what string, parts ...string) {
		t.Helper()
		for _, r := range rows {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(r, p)
			}
			if ok {
				return
			}
		}
		t.Errorf("fleet view: no row of %s with %q", what, parts)
	}
	findRow("new-node", "pending", "new-node", newID, "waiting for approval")
	findRow("the revoked key", "revoked", revoked, "revoked")
	findRow("web-01", "connected", "web-01", webID, "ms")
	findRow("a lost host", "lost", "loadgen-002", "ago")
	plotCount := func() (n int) {
		br.eval(`document.querySelectorAll("svg.plot path[d^='M']").length`, &n)
		return n
	}
	if n := plotCount(); n < 3 {
		t.Errorf("fleet view: %d plot lines, want at least 3", n)
	}
	// With JavaScript, the page refreshes itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var updated string
		br.eval(`document.getElementById("updated").textContent`, &updated)
		if strings.HasPrefix(updated, "updated ") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("the fleet view did not refresh itself in 10 s")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	br.open(status)
	br.screenshot(filepath.Join(shots, "fleet.png"), 1800)
	check("fleet view")

	// With JavaScript off, the same rows and plots.
	br.call(br.session, "Emulation.setScriptExecutionDisabled", map[string]any{"value": true}, nil)
	br.open(status + "?n=1000")
	var html string
	br.eval(`document.documentElement.outerHTML`, &html) // evaluating is allowed; the page's scripts are not run
	if n := strings.Count(html, `<tr data-state=`); n != staying+leaving+3 {
		t.Errorf("fleet view without JavaScript: %d rows, want %d", n, staying+leaving+3)
	}
	if n := strings.Count(html, `<svg class="plot"`); n < 3 {
		t.Errorf("fleet view without JavaScript: %d plots", n)
	}
	br.call(br.session, "Emulation.setScriptExecutionDisabled", map[string]any{"value": false}, nil)
	check("fleet view without JavaScript")

	// The health view: the last hour and 24 hours.
	br.open(status + "health")
	if n := plotCount(); n < 6 {
		t.Errorf("health view: %d plot lines, want at least 6", n)
	}
	br.screenshot(filepath.Join(shots, "health.png"), 1200)
	check("health view")

	// Filters: state and name.
	br.open(status + "?state=lost")
	var lostRows int
	br.eval(`document.querySelectorAll("#fleet tbody tr[data-state=lost]").length===document.querySelectorAll("#fleet tbody tr").length?document.querySelectorAll("#fleet tbody tr").length:-1`, &lostRows)
	if lostRows != leaving {
		t.Errorf("?state=lost shows %d rows (-1: of other states), want %d", lostRows, leaving)
	}
	check("fleet view, lost")

	// web-01's page: its stats with rates, its answer times.
	br.open(status + "node/" + webID)
	var stats []string
	br.eval(`Array.from(document.querySelectorAll("#stats tbody tr")).map(function(r){return r.innerText})`, &stats)
	for _, name := range []string{"load_monitor.avg_load", "statsherd.polls", "web.requests"} {
		if !containsAll(stats, name) {
			t.Errorf("web-01's page lacks its stat %s: %q", name, stats)
		}
	}
	var rated int
	br.eval(`Array.from(document.querySelectorAll("#stats tbody tr td:last-child")).filter(function(c){return /\/s$/.test(c.textContent)}).length`, &rated)
	if rated == 0 {
		t.Errorf("web-01's page shows no counter's rate")
	}
	if n := plotCount(); n < 1 {
		t.Errorf("web-01's page: no plot of its answer times")
	}
	var text string
	br.eval(`document.querySelector("main").innerText`, &text)
	for _, w := range []string{"statsherd gatherer revoke " + webID, "connected"} {
		if !strings.Contains(text, w) {
			t.Errorf("web-01's page does not say %q", w)
		}
	}
	br.screenshot(filepath.Join(shots, "node.png"), 1800)
	check("node page")

	// new-node's page: pending, and the command that approves it.
	br.open(status + "node/" + newID)
	br.eval(`document.querySelector("main").innerText`, &text)
	if !strings.Contains(text, "statsherd gatherer approve "+newID) || !strings.Contains(text, "pending") {
		t.Errorf("new-node's page lacks its state or the approve command:\n%s", text)
	}
	check("pending node page")

	// The host's page: producers, statsd, register, plots.
	br.open(webStatus)
	var producers []string
	br.eval(`Array.from(document.querySelectorAll("#producers tbody tr")).map(function(r){return r.innerText})`, &producers)
	for _, p := range []string{"load_monitor", "uptime", "cpu_monitor"} {
		if !containsAll(producers, p, "up") {
			t.Errorf("host page: no producer %s up: %q", p, producers)
		}
	}
	br.eval(`document.querySelector("main").innerText`, &text)
	var names string
	br.eval(`(function(){var d=Array.from(document.querySelectorAll("#statsd dt")).find(function(e){return e.textContent==="names"});return d?d.nextElementSibling.textContent:""})()`, &names)
	if names != "3" {
		t.Errorf("host page: statsd names %q, want 3 (web.requests, web.latency_ms, web.sessions)", names)
	}
	for _, w := range []string{"statsd listener", "register socket", "connected to", "lines"} {
		if !strings.Contains(text, w) {
			t.Errorf("host page does not say %q", w)
		}
	}
	if n := plotCount(); n < 4 {
		t.Errorf("host page: %d plot lines, want one per producer and the poll", n)
	}
	br.screenshot(filepath.Join(shots, "host.png"), 1800)
	check("host page")

	// Nothing reveals the furl's secret.
	f, err := os.ReadFile(furlFile)
	if err != nil {
		t.Fatal(err)
	}
	secret := string(f[strings.LastIndexByte(strings.TrimSpace(string(f)), '/')+1:])
	secret = strings.TrimSpace(secret)
	for _, u := range []string{status, status + "?t=json", status + "node/" + webID + "?t=json", status + "health?t=json", webStatus, webStatus + "host?t=json"} {
		if body := get(t, u); len(secret) > 8 && strings.Contains(body, secret) {
			t.Errorf("%s reveals the furl's secret", u)
		}
	}
}

// hostConfig writes a host's config in dir and returns its path.
func hostConfig(t *testing.T, dir, nick, gdir, producers string) string {
	t.Helper()
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "host.hcl")
	writeFile(t, path, `
nickname     = "`+nick+`"
basedir      = "`+dir+`"
poll_timeout = "700ms"
gatherer {
  furl_file   = "`+filepath.Join(gdir, basedir.FurlFile)+`"
  min_backoff = "500ms"
  max_backoff = "2s"
}
reporting {
  statsd = "127.0.0.1:0"
  socket = "`+filepath.Join(dir, "r.sock")+`"
}
status { listen = "127.0.0.1:0" }
`+producers)
	return path
}

func hostID(t *testing.T, config string) string {
	t.Helper()
	out, err := exec.Command(bins.statsherd, "host", "id", "-config", config).Output()
	if err != nil {
		t.Fatalf("host id: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// proc is a process the test started.
type proc struct {
	cmd    *exec.Cmd
	stderr *testbin.Buffer
	stdin  io.WriteCloser
	done   chan struct{}
	t      *testing.T
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &testbin.Buffer{}, done: make(chan struct{}), t: t}
	p.cmd.Stderr = p.stderr
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) stop() {
	if !testbin.Stop(p.cmd.Process, p.done, syscall.SIGTERM, 20*time.Second) {
		p.t.Errorf("%v did not stop:\n%s", p.cmd.Args, p.stderr.String())
	}
}

// waitFile waits for a daemon's URL file and returns the URL.
func waitFile(t *testing.T, path string, p *proc) string {
	t.Helper()
	var s string
	waitUntil(t, path, p, func() bool {
		b, err := os.ReadFile(path)
		s = strings.TrimSpace(string(b))
		return err == nil && s != ""
	})
	return s
}

func waitUntil(t *testing.T, what string, p *proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("waiting for %s: %v exited: %v\n%s", what, p.cmd.Args, p.cmd.ProcessState, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; log:\n%s", what, tail(p.stderr.String(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, b)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func containsAll(rows []string, parts ...string) bool {
	for _, r := range rows {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// shortTempDir is a temporary directory with a path short enough for a
// unix socket.
func shortTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "sp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
