package gatherer_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/wire"
)

// statsherd is the binary under test, built from the working tree.
var statsherd string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"}))
}

// proc is a running statsherd process.
type proc struct {
	t              *testing.T
	cmd            *exec.Cmd
	stdout, stderr *testbin.Buffer
	done           chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, stdout: &testbin.Buffer{}, stderr: &testbin.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(statsherd, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	return p
}

// stop signals the process and waits for it; it returns the exit code.
func (p *proc) stop(sig syscall.Signal) int {
	if !testbin.Stop(p.cmd.Process, p.done, sig, 30*time.Second) {
		p.t.Errorf("%v did not stop on %v:\n%s", p.cmd.Args, sig, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func waitFor(t *testing.T, what string, logs func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; logs:\n%s", what, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gathererDir creates a gatherer base directory with a fast poll interval,
// the munin snapshot and the stdout output (to the gatherer's stdout).
func gathererDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "gatherer")
	out, err := exec.Command(statsherd, "create-gatherer", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("create-gatherer: %v\n%s", err, out)
	}
	if _, err := furl.Parse(strings.TrimSpace(strings.Split(string(out), "\n")[1])); err != nil {
		t.Fatalf("create-gatherer printed no furl on its last line: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(dir, "gatherer.hcl"), `
nickname      = "central"
poll_interval = "500ms"
poll_timeout  = "400ms"
listen {
  address           = "127.0.0.1"
  location          = ["127.0.0.1"]
  handshake_timeout = "500ms"
}
status { listen = "127.0.0.1:0" }
output "munin" { path = "stats.json" }
output "stdout" {}
`)
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runningGatherer is a gatherer process and where to watch it.
type runningGatherer struct {
	*proc
	dir    string
	status string
}

func startGatherer(t *testing.T, dir string) *runningGatherer {
	t.Helper()
	os.Remove(filepath.Join(dir, basedir.StatusURLFile))
	p := start(t, "gatherer", "-basedir", dir)
	g := &runningGatherer{proc: p, dir: dir}
	waitFor(t, "the status page", p.stderr.String, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, basedir.StatusURLFile))
		g.status = strings.TrimSpace(string(b))
		return err == nil && g.status != ""
	})
	return g
}

func (g *runningGatherer) statusJSON() gatherer.Status {
	g.t.Helper()
	var s gatherer.Status
	resp, err := http.Get(g.status + "?t=json")
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(&s)
	return s
}

// snapshot reads the munin snapshot: node id → nickname and timestamp.
type snapEntry struct {
	Nickname  string  `json:"nickname"`
	Timestamp float64 `json:"timestamp"`
	Stats     struct {
		Counters map[string]json.RawMessage `json:"counters"`
		Stats    map[string]json.RawMessage `json:"stats"`
	} `json:"stats"`
}

func (g *runningGatherer) snapshot() map[string]snapEntry {
	var snap map[string]snapEntry
	b, err := os.ReadFile(filepath.Join(g.dir, "stats.json"))
	if err == nil {
		json.Unmarshal(b, &snap)
	}
	return snap
}

// startHost runs a real `statsherd host` connecting to the gatherer in
// gdir (or through furlFile) and returns it with its node id.
func startHost(t *testing.T, gdir, nick, furlFile string) (*proc, string) {
	t.Helper()
	return startHostIn(t, t.TempDir(), gdir, nick, furlFile)
}

// startHostIn is startHost with the host's base directory dir.
func startHostIn(t *testing.T, dir, gdir, nick, furlFile string) (*proc, string) {
	t.Helper()
	if furlFile == "" {
		furlFile = filepath.Join(gdir, basedir.FurlFile)
	}
	cfg := filepath.Join(dir, "host.hcl")
	writeFile(t, cfg, fmt.Sprintf(`
nickname     = %q
poll_timeout = "300ms"
gatherer {
  furl_file   = %q
  min_backoff = "100ms"
  max_backoff = "400ms"
}
reporting {
  statsd = ""
  socket = ""
}
status { listen = "" }
producer "uptime" {}
`, nick, furlFile))
	out, err := exec.Command(statsherd, "host", "-config", cfg, "id").Output()
	if err != nil {
		t.Fatalf("statsherd host id: %v", err)
	}
	return start(t, "host", "-config", cfg), strings.TrimSpace(string(out))
}

func TestE2E(t *testing.T) {
	t.Parallel()
	dir := gathererDir(t)
	g := startGatherer(t, dir)
	furlBefore, err := os.ReadFile(filepath.Join(dir, basedir.FurlFile))
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]*proc{}
	ids := map[string]string{}
	for _, nick := range []string{"storage-01", "storage-02", "storage-03"} {
		hosts[nick], ids[nick] = startHost(t, dir, nick, "")
	}
	logs := func() string { return g.stderr.String() }

	t.Run("three hosts reach the outputs within one round", func(t *testing.T) {
		var connectedAt uint64
		waitFor(t, "three hosts connected", logs, func() bool {
			s := g.statusJSON()
			connectedAt = s.LastRound.Seq
			return len(s.Hosts) == 3
		})
		allConnected := float64(time.Now().UnixNano()) / 1e9
		// The first round that starts after all three are connected
		// carries all three to every output.
		waitFor(t, "the next round written", logs, func() bool {
			return g.statusJSON().LastRound.WrittenSeq >= connectedAt+2
		})
		snap := g.snapshot()
		rounds := []byte(g.stdout.String())
		for nick, id := range ids {
			e, ok := snap[id]
			if !ok || e.Nickname != nick || len(e.Stats.Stats["node.uptime"]) == 0 {
				t.Errorf("snapshot entry of %s (%s): %+v", nick, id, e)
			}
			// Round connectedAt+2 began after all three were connected;
			// once it is written, each host's sample is from it or later.
			if e.Timestamp < allConnected {
				t.Errorf("%s: newest sample at %.3f, before all hosts were connected (%.3f): the first full round missed it", nick, e.Timestamp, allConnected)
			}
			if !bytes.Contains(rounds, []byte(fmt.Sprintf("%q [%s]:", nick, id))) {
				t.Errorf("the stdout output never printed %s [%s]", nick, id)
			}
		}
		var central bool
		for _, e := range snap {
			central = central || e.Nickname == "central" && len(e.Stats.Stats["statsherd.gatherer.hosts_connected"]) > 0
		}
		if !central {
			t.Error("the gatherer's own node is not in the snapshot")
		}
		for nick, id := range ids {
			if !hasLine(logs(), "gatherer: connect:", "node="+id, "nickname="+nick) {
				t.Errorf("no connect line for %s", nick)
			}
		}
	})

	t.Run("a killed host is dropped and its last data kept", func(t *testing.T) {
		victim := ids["storage-03"]
		hosts["storage-03"].stop(syscall.SIGKILL)
		waitFor(t, "the killed host dropped", logs, func() bool {
			return len(g.statusJSON().Hosts) == 2 && hasLine(logs(), "gatherer: disconnect:", "node="+victim)
		})
		before := g.snapshot()
		seq := g.statusJSON().LastRound.WrittenSeq
		waitFor(t, "two more rounds", logs, func() bool { return g.statusJSON().LastRound.WrittenSeq >= seq+2 })
		after := g.snapshot()
		if e, ok := after[victim]; !ok || e.Timestamp != before[victim].Timestamp {
			t.Errorf("the killed host's last sample was not kept as it was: before %+v, after %+v", before[victim], e)
		}
		if a, b := after[ids["storage-01"]].Timestamp, before[ids["storage-01"]].Timestamp; a <= b {
			t.Errorf("a live host's sample did not advance: %v -> %v", b, a)
		}
	})

	t.Run("a restarted gatherer keeps port and furl and the hosts come back", func(t *testing.T) {
		if code := g.stop(syscall.SIGTERM); code != 0 {
			t.Fatalf("gatherer exited %d on SIGTERM:\n%s", code, logs())
		}
		if !strings.Contains(logs(), "gatherer stopped") {
			t.Errorf("no clean stop in the logs:\n%s", logs())
		}
		g2 := startGatherer(t, dir)
		furlAfter, err := os.ReadFile(filepath.Join(dir, basedir.FurlFile))
		if err != nil {
			t.Fatal(err)
		}
		if string(furlAfter) != string(furlBefore) {
			t.Errorf("furl changed across restart:\n%s%s", furlBefore, furlAfter)
		}
		// stdout is no terminal: the furl's path, never its secret (the
		// status page can be up a moment before it is printed).
		want := filepath.Join(dir, basedir.FurlFile) + "\n"
		waitFor(t, "the furl's path printed", g2.stdout.String, func() bool {
			return strings.HasPrefix(g2.stdout.String(), want)
		})
		if strings.Contains(g2.stdout.String(), "pb://") {
			t.Errorf("the gatherer printed %q, not only its furl's path", g2.stdout.String())
		}
		waitFor(t, "the two live hosts back", g2.stderr.String, func() bool { return len(g2.statusJSON().Hosts) == 2 })
	})
}

func TestE2ERefusals(t *testing.T) {
	t.Parallel()
	dir := gathererDir(t)
	g := startGatherer(t, dir)
	f, err := furl.ReadFile(filepath.Join(dir, basedir.FurlFile))
	if err != nil {
		t.Fatal(err)
	}
	addr := f.Hints[0]
	id, err := identity.New()
	if err != nil {
		t.Fatal(err)
	}
	dialTLS := func(t *testing.T, withCert bool) *tls.Conn {
		cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
		if withCert {
			cfg.Certificates = []tls.Certificate{id.Cert}
		}
		c, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// The impostor: a gatherer of its own, whose furl the host gets with
	// the real gatherer's fingerprint.
	impostorDir := gathererDir(t)
	impostor := startGatherer(t, impostorDir)
	fi, err := furl.ReadFile(filepath.Join(impostorDir, basedir.FurlFile))
	if err != nil {
		t.Fatal(err)
	}

	// Each case returns the gatherer that refuses, the refusal's kind,
	// and words of its log line. Refusals of one kind are logged at most
	// once in 10 s: a case whose kind was logged already by an earlier
	// case (want "") is checked by its count alone.
	tests := []struct {
		name string
		run  func(t *testing.T) (watch *runningGatherer, kind, want string)
	}{
		{"wrong secret", func(t *testing.T) (*runningGatherer, string, string) {
			bad := f
			bad.Secret = strings.Repeat("a", 32)
			ff := filepath.Join(t.TempDir(), "bad.furl")
			writeFile(t, ff, bad.String())
			h, _ := startHost(t, dir, "wrong-secret", ff)
			waitFor(t, "the host told", h.stderr.String, func() bool { return strings.Contains(h.stderr.String(), "wrong secret") })
			return g, "wrong_secret", "reason=\"wrong secret"
		}},
		{"impostor gatherer", func(t *testing.T) (*runningGatherer, string, string) {
			fake := fi
			fake.Fingerprint = f.Fingerprint
			ff := filepath.Join(t.TempDir(), "impostor.furl")
			writeFile(t, ff, fake.String())
			h, _ := startHost(t, dir, "fooled", ff)
			waitFor(t, "the host refusing the impostor", h.stderr.String, func() bool {
				return strings.Contains(h.stderr.String(), "does not match the furl's fingerprint")
			})
			if s := impostor.statusJSON(); len(s.Hosts) != 0 {
				t.Errorf("the impostor got hosts: %+v", s.Hosts)
			}
			return impostor, "tls_handshake", "kind=tls_handshake"
		}},
		{"no client certificate", func(t *testing.T) (*runningGatherer, string, string) {
			c := dialTLS(t, false)
			defer c.Close()
			wire.NewConn(c, 0).Send(wire.NewHello(f.Secret, "anon", nil))
			io.Copy(io.Discard, c)
			return g, "tls_handshake", "certificate"
		}},
		{"garbage", func(t *testing.T) (*runningGatherer, string, string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("\x00\x01garbage garbage garbage\r\n"))
			io.Copy(io.Discard, c)
			return g, "tls_handshake", ""
		}},
		{"stalled handshake", func(t *testing.T) (*runningGatherer, string, string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.Copy(io.Discard, c)
			return g, "handshake_timeout", "handshake not done within 500ms"
		}},
		{"huge message", func(t *testing.T) (*runningGatherer, string, string) {
			c := dialTLS(t, true)
			defer c.Close()
			c.Write(binary.BigEndian.AppendUint32(nil, 1<<31))
			io.Copy(io.Discard, c)
			return g, "bad_hello", "message too large"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Only what this case's attack makes counts: the logs and
			// counts from here on.
			logFrom := map[*runningGatherer]int{g: len(g.proc.stderr.String()), impostor: len(impostor.proc.stderr.String())}
			countFrom := map[*runningGatherer]map[string]int64{g: g.statusJSON().RefusedByKind, impostor: impostor.statusJSON().RefusedByKind}
			watch, kind, want := tt.run(t)
			log := func() string { return watch.proc.stderr.String()[logFrom[watch]:] }
			waitFor(t, "the refusal counted", log, func() bool {
				return watch.statusJSON().RefusedByKind[kind] > countFrom[watch][kind]
			})
			if want != "" {
				waitFor(t, "the refusal logged", log, func() bool {
					return hasLine(log(), "refused peer: address=127.0.0.1:", "kind="+kind, want)
				})
			}
		})
	}
	if s := g.statusJSON(); s.Refused < 5 || len(s.Hosts) != 0 {
		t.Errorf("status after the refusals: %d refused, hosts %+v", s.Refused, s.Hosts)
	}
	// The gatherer still works after all that.
	h, _ := startHost(t, dir, "good", "")
	waitFor(t, "a good host accepted", h.stderr.String, func() bool { return len(g.statusJSON().Hosts) == 1 })
}

func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T) []string // the arguments
		want  string
	}{
		{"invalid HCL", func(t *testing.T) []string {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "gatherer.hcl"), "poll_interval = \"soon\"\n")
			return []string{"gatherer", "-basedir", dir}
		}, "gatherer.hcl:1,17-23: Invalid duration"},
		{"unknown output", func(t *testing.T) []string {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "gatherer.hcl"), "output \"nosuch\" {}\n")
			return []string{"gatherer", "-basedir", dir, "-create"}
		}, "no built-in output named \"nosuch\""},
		{"output block with a wrong attribute", func(t *testing.T) []string {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "gatherer.hcl"), "status { listen = \"\" }\noutput \"stdout\" {\n  colour = \"red\"\n}\n")
			return []string{"gatherer", "-basedir", dir, "-create"}
		}, "gatherer.hcl:3,3-9: Unsupported argument"},
		{"unwritable basedir", func(t *testing.T) []string {
			file := filepath.Join(t.TempDir(), "file")
			writeFile(t, file, "")
			return []string{"gatherer", "-basedir", filepath.Join(file, "sub")}
		}, "not a directory"},
		{"a directory create-gatherer never made", func(t *testing.T) []string {
			return []string{"gatherer", "-basedir", filepath.Join(t.TempDir(), "typo")}
		}, "has no gatherer.key): make one with 'statsherd create-gatherer"},
		{"a config whose basedir create-gatherer never made", func(t *testing.T) []string {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "gatherer.hcl"), "basedir = \"state\"\n")
			return []string{"gatherer", "-config", filepath.Join(dir, "gatherer.hcl")}
		}, "or start with -create"},
		{"no flags", func(t *testing.T) []string { return []string{"gatherer"} }, "usage: statsherd gatherer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			cmd := exec.Command(statsherd, tt.setup(t)...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatal("the gatherer started")
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestE2EStopFlushesAndEndsPlugins(t *testing.T) {
	t.Parallel()
	dir := gathererDir(t)
	g := startGatherer(t, dir)
	waitFor(t, "a round written", g.stderr.String, func() bool { return g.statusJSON().LastRound.WrittenSeq >= 1 })
	kids := childrenOf(g.cmd.Process.Pid)
	if len(kids) != 2 {
		t.Fatalf("want two output plugin processes, found %v", kids)
	}
	if code := g.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d:\n%s", code, g.stderr.String())
	}
	for _, pid := range kids {
		if alive(pid) {
			t.Errorf("plugin process %d still runs after the gatherer stopped", pid)
		}
	}
	if rounds := g.stdout.String(); !strings.Contains(rounds, `"central" [`) {
		t.Errorf("the stdout output's rounds did not reach the gatherer's stdout:\n%s", rounds)
	}
}

// hasLine reports whether a line of logs contains every one of parts.
func hasLine(logs string, parts ...string) bool {
	for _, line := range strings.Split(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// alive reports whether pid runs (a zombie waiting for its reaper is not).
func alive(pid int) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	if i := strings.LastIndexByte(line, ')'); i >= 0 && len(line) > i+2 {
		return line[i+2] != 'Z' && line[i+2] != 'X'
	}
	return false
}

// TestE2EHangupKeepsRunning: a SIGHUP (systemctl reload, a logrotate
// script) reloads, never ends the gatherer; under the open policy it says
// there is nothing to reload.
func TestE2EHangupKeepsRunning(t *testing.T) {
	t.Parallel()
	g := startGatherer(t, gathererDir(t))
	g.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the SIGHUP log line", g.stderr.String, func() bool {
		return strings.Contains(g.stderr.String(), "nothing to reload")
	})
	select {
	case <-g.done:
		t.Fatalf("the gatherer ended on SIGHUP:\n%s", g.stderr.String())
	default:
	}
	if resp, err := http.Get(g.status); err != nil {
		t.Fatalf("status page after SIGHUP: %v", err)
	} else {
		resp.Body.Close()
	}
	if code := g.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0:\n%s", code, g.stderr.String())
	}
}
