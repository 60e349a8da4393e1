package munin

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/munin/plugin"
	"github.com/statsherd/statsherd/sdk"
)

// pluginBin is statsherd-munin, built from the working tree by TestMain,
// in a directory user nobody can read (munin runs plugins as nobody).
var pluginBin string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &pluginBin, Pkg: "github.com/statsherd/statsherd/cmd/statsherd-munin"}))
}

// TestBinaryIsFromThisBuild: the binary under test carries this test
// run's stamp, so no installed or stale statsherd-munin is tested.
func TestBinaryIsFromThisBuild(t *testing.T) {
	t.Parallel()
	out, err := exec.Command(pluginBin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("statsherd-munin version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "statsherd-munin ") || !strings.Contains(string(out), testbin.Stamp) {
		t.Errorf("statsherd-munin version = %q, want the stamp %s", out, testbin.Stamp)
	}
}

// needMunin finds a munin program: a test that needs it fails in CI and is
// skipped, saying what is missing, elsewhere.
func needMunin(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		testenv.LookPath(t, n, "munin munin-node")
	}
	testenv.NeedRoot(t, "munin-node and munin-run run plugins as user nobody")
}

// lookPath finds a program in PATH or in /usr/sbin, where Debian puts
// munin-run and munin-node.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return exec.LookPath(filepath.Join("/usr/sbin", name))
}

// lab is a private munin setup: its own config dir (plugins, plugin-conf.d,
// munin-node.conf) and snapshot, all readable by nobody.
type lab struct {
	dir       string
	confDir   string // stands in for /etc/munin
	plugins   string
	confd     string
	nodeConf  string
	statsfile string
	port      int
}

func newLab(t *testing.T) *lab {
	t.Helper()
	dir, err := os.MkdirTemp("", "statsherd-munin-lab-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l := &lab{dir: dir, confDir: filepath.Join(dir, "etc")}
	l.plugins = filepath.Join(l.confDir, "plugins")
	l.confd = filepath.Join(l.confDir, "plugin-conf.d")
	l.nodeConf = filepath.Join(l.confDir, "munin-node.conf")
	l.statsfile = filepath.Join(dir, "stats.json")
	for _, d := range []string{l.plugins, l.confd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dir, l.confDir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l.writeSnapshot(t)
	// The links, made by the binary's own install-links.
	for _, args := range [][]string{{"install-links", "-target", pluginBin, l.plugins}, {"install-links", "-multigraph", "-target", pluginBin, l.plugins}} {
		if out, err := exec.Command(pluginBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("statsherd-munin %v: %v\n%s", args, err, out)
		}
	}
	// The example plugin-conf.d file, pointed at this snapshot.
	example, err := os.ReadFile("plugin-conf.d/statsherd")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(example), "/var/lib/statsherd-gatherer/stats.json", l.statsfile)
	if !strings.Contains(conf, l.statsfile) {
		t.Fatal("the example plugin-conf.d file no longer names /var/lib/statsherd-gatherer/stats.json")
	}
	if err := os.WriteFile(filepath.Join(l.confd, "statsherd"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	l.port = freePort(t)
	node := fmt.Sprintf(`log_level 4
log_file %[1]s/munin-node.log
pid_file %[1]s/munin-node.pid
background 0
setsid 0
user root
group root
timeout 60
global_timeout 900
host_name statsherd-test
allow ^127\.0\.0\.1$
host 127.0.0.1
port %[2]d
`, dir, l.port)
	if err := os.WriteFile(l.nodeConf, []byte(node), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

// writeSnapshot writes the snapshot through the munin output itself: two
// fresh nodes, one an hour stale, one with a non-ASCII nickname and a
// null value.
func (l *lab) writeSnapshot(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	o := New(hclog.NewNullLogger())
	if err := o.Configure(ctx, config(t, map[string]any{"path": l.statsfile})); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	storage := func(k int64) sdk.Stats {
		return sdk.Stats{
			Counters: map[string]int64{"storage_server.allocate": 100 * k, "storage_server.get": 900 * k, "storage_server.bytes_added": 1 << 20 * k},
			Stats:    map[string]sdk.Value{"storage_server.consumed": sdk.Int(1 << 30 * k), "load_monitor.avg_load": sdk.Float(0.01 * float64(k))},
		}
	}
	round := sdk.Round{Time: now, Nodes: []sdk.NodeSample{
		{ID: "xgru5adktjjhqwdbbaoi3hu3zq3cvgme", Nickname: "storage-01", Timestamp: now.Add(-10 * time.Second), Stats: storage(1)},
		{ID: "qmn2w6ojlfh7bt6ecnw3dsxeyqx6vzpu", Nickname: "stockage-été", Timestamp: now.Add(-20 * time.Second), Stats: storage(2)},
		{ID: "stale7fzvyu2bl4dd6kx5mk7qzr3w2pa", Nickname: "old-storage", Timestamp: now.Add(-time.Hour), Stats: storage(3)},
		{ID: "mjxq6lnzvqt6wgn2aadtp6fvxkvx4mky", Nickname: "helper", Timestamp: now, Stats: sdk.Stats{
			Counters: map[string]int64{"chk_upload_helper.upload_requests": 42},
			Stats:    map[string]sdk.Value{"chk_upload_helper.active_uploads": sdk.Null, "load_monitor.avg_load": sdk.Float(0.5)}}},
	}}
	if err := o.Write(ctx, round); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// expect is what the plugin answers, run in process with env.
func (l *lab) expect(t *testing.T, env map[string]string, name string, args ...string) string {
	t.Helper()
	e := map[string]string{plugin.EnvStatsFile: l.statsfile}
	for k, v := range env {
		e[k] = v
	}
	var stdout, stderr bytes.Buffer
	if code := plugin.Run(append([]string{name}, args...), func(k string) string { return e[k] }, time.Now(), &stdout, &stderr); code != 0 {
		t.Fatalf("in-process %s %v: exit %d: %s", name, args, code, stderr.String())
	}
	return stdout.String()
}

func (l *lab) muninRun(t *testing.T, confd string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	mr, lerr := lookPath("munin-run")
	if lerr != nil {
		t.Fatal(lerr)
	}
	cmd := exec.Command(mr, append([]string{"--config", l.nodeConf, "--servicedir", l.plugins, "--sconfdir", confd}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestMuninRun runs the plugin through munin-run, as user nobody with the
// environment from plugin-conf.d, and compares with the in-process answer.
func TestMuninRun(t *testing.T) {
	needMunin(t, "munin-run")
	t.Parallel()
	l := newLab(t)
	multi := map[string]string{"MUNIN_CAP_MULTIGRAPH": "1"}
	tests := []struct {
		name  string
		graph string
		args  []string
		env   map[string]string
	}{
		{"config", "tahoe_storage_consumed", []string{"config"}, nil},
		{"fetch", "tahoe_storage_consumed", nil, nil},
		{"counter config", "tahoe_storage_operations_allocate", []string{"config"}, nil},
		{"counter fetch", "tahoe_storage_operations_allocate", []string{"fetch"}, nil},
		{"null value", "tahoe_helper_active_uploads", nil, nil},
		{"no data", "tahoe_mutable_files_published", []string{"config"}, nil},
		{"multigraph config", graph.Multigraph, []string{"config"}, multi},
		{"multigraph fetch", graph.Multigraph, nil, multi},
		{"autoconf", "tahoe_storage_consumed", []string{"autoconf"}, nil},
		{"suggest", "tahoe_storage_consumed", []string{"suggest"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := l.muninRun(t, l.confd, append([]string{tt.graph}, tt.args...)...)
			if err != nil {
				t.Fatalf("munin-run %s %v: %v\n%s", tt.graph, tt.args, err, errOut)
			}
			if want := l.expect(t, tt.env, tt.graph, tt.args...); out != want {
				t.Errorf("munin-run %s %v:\n%s\nwant:\n%s", tt.graph, tt.args, out, want)
			}
		})
	}
	t.Run("fresh and stale", func(t *testing.T) {
		out, _, err := l.muninRun(t, l.confd, "tahoe_storage_consumed")
		if err != nil {
			t.Fatal(err)
		}
		// "été": one '_' per character, as the stats.json-era tahoe_stats named it.
		want := "stockage__t__qmn2.value 2147483648\nstorage_01_xgru.value 1073741824\n"
		if out != want {
			t.Errorf("fetch:\n%s\nwant:\n%s", out, want)
		}
		cfg, _, err := l.muninRun(t, l.confd, "tahoe_storage_consumed", "config")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cfg, "old_storage_stal.label old_storage_stal\n") {
			t.Errorf("config lacks the stale node:\n%s", cfg)
		}
	})
	t.Run("corrupt snapshot", func(t *testing.T) {
		corrupt := filepath.Join(l.dir, "corrupt.json")
		if err := os.WriteFile(corrupt, []byte(`{"a": {"timestamp": 1`), 0o644); err != nil {
			t.Fatal(err)
		}
		confd := filepath.Join(l.dir, "corrupt-conf.d")
		if err := os.Mkdir(confd, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(confd, "statsherd"), []byte("[tahoe_*]\nenv.statsfile "+corrupt+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := l.muninRun(t, confd, "tahoe_storage_consumed")
		if err == nil || out != "" || !strings.Contains(errOut, "is corrupt") {
			t.Errorf("munin-run on a corrupt snapshot: %v, stdout %q, stderr %q", err, out, errOut)
		}
	})
}

// TestMuninNode talks munin's protocol to a real munin-node running the
// plugins from the lab's own config dir.
func TestMuninNode(t *testing.T) {
	needMunin(t, "munin-node")
	t.Parallel()
	l := newLab(t)
	l.startNode(t)

	c := dialNode(t, l.port)
	if got := c.line(t, "cap multigraph dirtyconfig"); got != "cap multigraph dirtyconfig" {
		t.Errorf("cap: %q", got)
	}
	list := strings.Fields(c.line(t, "list"))
	slices.Sort(list)
	table, err := graph.Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, g := range table.Graphs() {
		want = append(want, g.Name)
	}
	want = append(want, graph.Multigraph)
	slices.Sort(want)
	if !slices.Equal(list, want) {
		t.Errorf("list:\n%q\nwant:\n%q", list, want)
	}
	dirty := map[string]string{"MUNIN_CAP_DIRTYCONFIG": "1", "MUNIN_CAP_MULTIGRAPH": "1"}
	for _, cmd := range []struct {
		cmd, graph, arg string
		env             map[string]string
	}{
		{"config", "tahoe_storage_consumed", "config", dirty},
		{"fetch", "tahoe_storage_consumed", "fetch", nil},
		{"config", "tahoe_storage_bytes_added", "config", dirty},
		{"fetch", "tahoe_helper_upload_requests", "fetch", nil},
		{"config", graph.Multigraph, "config", dirty},
		{"fetch", graph.Multigraph, "fetch", dirty},
	} {
		got := c.block(t, cmd.cmd+" "+cmd.graph)
		if want := l.expect(t, cmd.env, cmd.graph, cmd.arg); got != want {
			t.Errorf("%s %s over munin-node:\n%s\nwant:\n%s", cmd.cmd, cmd.graph, got, want)
		}
	}
	if got := c.block(t, "fetch tahoe_nosuch"); got != "# Unknown service\n" {
		t.Errorf("fetch of an unknown service: %q", got)
	}
	c.quit(t)

	// Without "cap multigraph" the node hides the multigraph link: munin-node
	// saw "multigraph" lines in its config at start.
	c2 := dialNode(t, l.port)
	if list := c2.line(t, "list"); strings.Contains(list, graph.Multigraph) || !strings.Contains(list, "tahoe_storage_consumed") {
		t.Errorf("list without cap multigraph: %q", list)
	}
	c2.quit(t)
}

// startNode starts munin-node in the foreground on the lab's port, with
// the lab's config dir in place of /etc/munin (munin-node has no option
// for its plugin directories), and stops it when the test ends.
func (l *lab) startNode(t *testing.T) {
	t.Helper()
	node, err := lookPath("munin-node")
	if err != nil {
		t.Fatal(err)
	}
	script := `use Munin::Common::Defaults; $Munin::Common::Defaults::MUNIN_CONFDIR = shift @ARGV; ` +
		`my $node = shift @ARGV; do $node or die($@ || $!); exit main::main();`
	cmd := exec.Command("perl", "-e", script, l.confDir, node, "--config", l.nodeConf, "--foreground")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the node and its forked children only
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(l.dir, "munin-node.log"))
			t.Logf("munin-node output:\n%s\nlog:\n%s", out.String(), log)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(l.port), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("munin-node exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("munin-node did not listen on port %d within 30 s: %s", l.port, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// nodeConn is one session of munin's node protocol.
type nodeConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialNode(t *testing.T, port int) *nodeConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	c := &nodeConn{conn: conn, r: bufio.NewReader(conn)}
	banner, err := c.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "# munin node at ") {
		t.Fatalf("banner %q, %v", banner, err)
	}
	return c
}

// line sends cmd and reads its one-line answer.
func (c *nodeConn) line(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := fmt.Fprintf(c.conn, "%s\n", cmd); err != nil {
		t.Fatal(err)
	}
	s, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimSuffix(s, "\n")
}

// block sends cmd and reads its answer up to the "." line.
func (c *nodeConn) block(t *testing.T, cmd string) string {
	t.Helper()
	if _, err := fmt.Fprintf(c.conn, "%s\n", cmd); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		s, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %v after %q", cmd, err, b.String())
		}
		if s == ".\n" {
			return b.String()
		}
		b.WriteString(s)
	}
}

func (c *nodeConn) quit(t *testing.T) {
	t.Helper()
	fmt.Fprintf(c.conn, "quit\n")
	c.conn.Close()
}
