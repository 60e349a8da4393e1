package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

// bins are the binaries TestMain built from the working tree.
var bins struct {
	statsherd, munin, node string
}

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m,
		testbin.Target{Path: &bins.statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"},
		testbin.Target{Path: &bins.munin, Pkg: "github.com/statsherd/statsherd/cmd/statsherd-munin"},
		testbin.Target{Path: &bins.node, Pkg: "github.com/statsherd/statsherd/examples/tahoe-node"},
	))
}

// proc is a daemon started by the test; stop ends it with SIGTERM, then
// SIGKILL after 10 s. Its combined output is kept for failure messages.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *testbin.Buffer
	done chan struct{}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// startGatherer creates a gatherer in gdir (munin output, a 1 s round),
// starts it, and waits for its furl file, whose path it returns.
func startGatherer(t *testing.T, gdir string) string {
	t.Helper()
	out, err := exec.Command(bins.statsherd, "create-gatherer", gdir).CombinedOutput()
	if err != nil {
		t.Fatalf("statsherd create-gatherer: %v\n%s", err, out)
	}
	write(t, filepath.Join(gdir, "gatherer.hcl"), `
nickname      = "e2e-gatherer"
poll_interval = "1s"
poll_timeout  = "800ms"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
output "munin" { path = "stats.json" }
`)
	g := start(t, "gatherer", bins.statsherd, "gatherer", "-basedir", gdir)
	furl := filepath.Join(gdir, "stats_gatherer.furl")
	waitFor(t, 15*time.Second, "the gatherer's furl", func() bool {
		if g.exited() {
			t.Fatalf("the gatherer exited:\n%s", g.out.String())
		}
		fi, err := os.Stat(furl)
		return err == nil && fi.Size() > 0
	})
	return furl
}

func start(t *testing.T, name string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(argv[0], argv[1:]...), out: &testbin.Buffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if !testbin.Stop(p.cmd.Process, p.done, syscall.SIGTERM, 10*time.Second) {
			t.Errorf("%s did not stop within 10 s of SIGTERM; it was killed", name)
		}
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

// freeUDPPort returns a loopback UDP port nobody listens on now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// graph is one line of `statsherd-munin graphs`.
type graph struct{ name, category, stat string }

func graphs(t *testing.T) []graph {
	t.Helper()
	out, err := exec.Command(bins.munin, "graphs").Output()
	if err != nil {
		t.Fatalf("statsherd-munin graphs: %v", err)
	}
	var gs []graph
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("statsherd-munin graphs printed %q", l)
		}
		gs = append(gs, graph{f[0], f[1], f[2]})
	}
	return gs
}

// snapshot is the part of stats.json the test reads.
type snapshot map[string]struct {
	Nickname string `json:"nickname"`
	Stats    struct {
		Counters map[string]json.RawMessage `json:"counters"`
		Stats    map[string]json.RawMessage `json:"stats"`
	} `json:"stats"`
}

// nodesWith counts the nodes of the snapshot that have a non-null value
// for stat in category ("counters" or "stats").
func (s snapshot) nodesWith(category, stat string) int {
	n := 0
	for _, node := range s {
		m := node.Stats.Stats
		if category == "counters" {
			m = node.Stats.Counters
		}
		if v, ok := m[stat]; ok && string(v) != "null" {
			n++
		}
	}
	return n
}

// TestAllGraphsFromTwoNodes runs a gatherer and two hosts, each with a
// tahoe-node and the producers that feed Tahoe's graphs, until the munin
// snapshot holds every graph's stat for both nodes; then it runs
// statsherd-munin for each of the 26 graphs as munin would and checks
// that each prints a value for both nodes.
func TestAllGraphsFromTwoNodes(t *testing.T) {
	const nodes = 2
	base := t.TempDir()
	gdir := filepath.Join(base, "gatherer")

	furl := startGatherer(t, gdir)

	for i := 1; i <= nodes; i++ {
		dir := filepath.Join(base, fmt.Sprintf("node%d", i))
		helper := filepath.Join(dir, "helper")
		if err := os.MkdirAll(helper, 0o755); err != nil {
			t.Fatal(err)
		}
		statsd := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
		write(t, filepath.Join(dir, "host.hcl"), fmt.Sprintf(`
nickname     = "storage-%02d"
basedir      = %q
poll_timeout = "600ms"
gatherer { furl_file = %q }
reporting { statsd = %q }
status { listen = "" }
producer "load_monitor" {}
producer "upload_helper" {
  incoming_dir = "%s/CHK_incoming"
  encoding_dir = "%s/CHK_encoding"
}
`, i, dir, furl, statsd, helper, helper))
		start(t, fmt.Sprintf("host %d", i), bins.statsherd, "host", "-config", filepath.Join(dir, "host.hcl"))
		start(t, fmt.Sprintf("tahoe-node %d", i), bins.node, "-statsd", statsd, "-interval", "200ms",
			"-seed", fmt.Sprint(i), "-helper-dir", helper)
	}

	gs := graphs(t)
	if len(gs) < 26 {
		t.Fatalf("statsherd-munin knows %d graphs, want Tahoe's 26", len(gs))
	}
	statsfile := filepath.Join(gdir, "stats.json")
	read := func() snapshot {
		b, err := os.ReadFile(statsfile)
		if err != nil {
			return nil
		}
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", statsfile, err)
		}
		return s
	}
	var lacking []string
	waitFor(t, 45*time.Second, "every graph's stat from both nodes in "+statsfile, func() bool {
		s := read()
		lacking = []string{"no snapshot yet"}
		if s == nil {
			return false
		}
		lacking = lacking[:0]
		for _, gr := range gs {
			if n := s.nodesWith(gr.category, gr.stat); n < nodes {
				lacking = append(lacking, fmt.Sprintf("%s (%d nodes)", gr.stat, n))
			}
		}
		return len(lacking) == 0
	}, func() string { return "still lacking: " + strings.Join(lacking, ", ") })

	// The values move: the storage servers keep serving reads.
	moving := []string{"storage_server.readv", "storage_server.get", "storage_server.allocate"}
	sum := func(s snapshot, id string) (n int64) {
		for _, c := range moving {
			var v int64
			json.Unmarshal(s[id].Stats.Counters[c], &v)
			n += v
		}
		return n
	}
	before := read()
	waitFor(t, 15*time.Second, "counters moving on every node", func() bool {
		now := read()
		for id, node := range before {
			if node.Stats.Counters[moving[0]] != nil && sum(now, id) <= sum(before, id) {
				return false
			}
		}
		return true
	})

	links := filepath.Join(base, "plugins")
	if err := os.Mkdir(links, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bins.munin, "install-links", "-target", bins.munin, links).CombinedOutput(); err != nil {
		t.Fatalf("statsherd-munin install-links: %v\n%s", err, out)
	}
	value := regexp.MustCompile(`(?m)^storage_[0-9]+_[a-z2-7]{4}\.value -?[0-9.]+(e[+-][0-9]+)?$`)
	for _, gr := range gs {
		t.Run(gr.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(links, gr.name))
			cmd.Env = append(os.Environ(), "statsfile="+statsfile)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", gr.name, err, out)
			}
			if n := len(value.FindAll(out, -1)); n < nodes {
				t.Errorf("%s printed values for %d nodes, want %d:\n%s", gr.name, n, nodes, out)
			}
		})
	}
}

// waitFor polls cond every 100ms until it holds or timeout passes; why,
// if given, explains a timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool, why ...func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			msg := ""
			for _, w := range why {
				msg += ": " + w()
			}
			t.Fatalf("no %s after %s%s", what, timeout, msg)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
