package supervisor

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/sdk"
)

// Binaries built from the working tree in TestMain.
var bins struct {
	testplugin, oldplugin, statsherd string
}

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m,
		testbin.Target{Path: &bins.testplugin, Pkg: "./internal/supervisor/testdata/testplugin"},
		testbin.Target{Path: &bins.oldplugin, Pkg: "./internal/supervisor/testdata/oldplugin"},
		testbin.Target{Path: &bins.statsherd, Pkg: "./cmd/statsherd"},
	))
}

// loadBlock parses an HCL snippet holding one producer block and loads it.
func loadBlock(t *testing.T, src string, o Options, keep bool) (*Plugin, hcl.Diagnostics) {
	t.Helper()
	p := config.NewParser()
	f, diags := p.ParseSource([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatalf("parsing: %v", diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "producer", LabelNames: []string{"name"}}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("want one producer block: %v", diags)
	}
	blk := content.Blocks[0]
	b, diags := config.NewPluginBlock(sdk.KindProducer, blk.Labels[0], blk.Body, blk.DefRange)
	if diags.HasErrors() {
		return nil, diags
	}
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})
	}
	if o.Self == "" {
		o.Self = bins.statsherd
	}
	if o.Builtins.Producers == nil {
		o.Builtins = builtin.Plugins()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pl, diags := Check(ctx, b, o, keep)
	if pl != nil {
		t.Cleanup(func() { pl.Stop(context.Background()) })
	}
	return pl, diags
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func collect(t *testing.T, p *Plugin, timeout time.Duration) (sdk.Stats, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Collect(ctx)
}

func TestCollect(t *testing.T) {
	p, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin = %q
  stats  = 4
  every  = "90s"
}`, bins.testplugin), Options{}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, err := collect(t, p, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Stats["test.stat_3"]; got.String() != "3.5" {
		t.Errorf("test.stat_3 = %v, want 3.5", got)
	}
	if st.Counters["test.collects"] != 1 {
		t.Errorf("test.collects = %d, want 1", st.Counters["test.collects"])
	}
	if s := p.State(); !s.Up || s.Starts != 1 || s.Calls != 1 || s.Failures != 0 {
		t.Errorf("state = %+v", s)
	}
}

func TestCrashedPluginIsRestarted(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "crashed")
	p, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin          = %q
  crash_once_file = %q
}`, bins.testplugin, marker), Options{MinBackoff: 50 * time.Millisecond}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	firstPID := pluginPID(t, p)
	_, err := collect(t, p, 5*time.Second)
	if err == nil {
		t.Fatal("collect from a plugin that crashes mid-collect succeeded")
	}
	if !strings.Contains(err.Error(), "crashed") || !strings.Contains(err.Error(), "crashing on purpose") {
		t.Errorf("error %q does not say the plugin crashed, with its last words", err)
	}
	if p.State().Up {
		t.Error("state says up after a crash")
	}
	var st sdk.Stats
	deadline := time.Now().Add(10 * time.Second)
	for {
		time.Sleep(60 * time.Millisecond)
		st, err = collect(t, p, 5*time.Second)
		if err == nil || time.Now().After(deadline) {
			break
		}
		if !errors.Is(err, ErrDown) {
			t.Fatalf("collect after crash: %v", err)
		}
	}
	if err != nil {
		t.Fatalf("plugin not serving again after a crash: %v", err)
	}
	if len(st.Stats) == 0 {
		t.Error("restarted plugin returned no stats (was it configured again?)")
	}
	if pid, ok := st.Stats["test.pid"].Int64(); !ok || int(pid) == firstPID {
		t.Errorf("restarted plugin runs as pid %v, the crashed one was %d: want a fresh process", st.Stats["test.pid"], firstPID)
	}
	if s := p.State(); !s.Up || s.Restarts != 1 || s.Failures != 1 {
		t.Errorf("state after restart = %+v, want up, 1 restart, 1 failure", s)
	}
}

func TestHungPluginCostsOneDeadline(t *testing.T) {
	p, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin  = %q
  hang    = true
  timeout = "300ms"
}`, bins.testplugin), Options{MinBackoff: time.Hour}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pid := pluginPID(t, p)
	start := time.Now()
	_, err := collect(t, p, 30*time.Second)
	if err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("collect from a hung plugin: err = %v, want a deadline error", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("a hung collect took %v despite a 300ms timeout", took)
	}
	// The next call does not wait on the hung plugin: it is down.
	_, err = collect(t, p, 30*time.Second)
	if !errors.Is(err, ErrDown) {
		t.Errorf("call after a hang: err = %v, want ErrDown", err)
	}
	waitGone(t, pid)
}

func TestPluginFailureKeepsItUp(t *testing.T) {
	p, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin = %q
  fail   = true
}`, bins.testplugin), Options{}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, err := collect(t, p, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "failing on purpose") {
		t.Fatalf("err = %v, want the plugin's own error", err)
	}
	if s := p.State(); !s.Up || s.Failures != 1 || s.LastError == "" {
		t.Errorf("state = %+v, want up with one failure recorded", s)
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "not-a-plugin")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello, I am not a plugin\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("something else"))
	tests := []struct {
		name  string
		block string
		want  []string
	}{
		{"not a plugin", fmt.Sprintf(`producer "x" { plugin = %q }`, script),
			[]string{script, "not a statsherd plugin"}},
		{"wrong protocol version", fmt.Sprintf(`producer "x" { plugin = %q }`, bins.oldplugin),
			[]string{bins.oldplugin, "another version of the statsherd plugin protocol"}},
		{"checksum mismatch", fmt.Sprintf(`producer "x" {
  plugin = %q
  sha256 = "%x"
}`, bins.testplugin, sum),
			[]string{bins.testplugin, "checksum mismatch", fmt.Sprintf("%x", sum)}},
		{"missing binary", `producer "x" { plugin = "/nonexistent/plugin" }`,
			[]string{"/nonexistent/plugin"}},
		{"unknown built-in", `producer "no_such_producer" {}`,
			[]string{"no built-in producer named \"no_such_producer\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadBlock(t, tt.block, Options{}, false)
			if !diags.HasErrors() {
				t.Fatal("no error")
			}
			msg := diags.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if !strings.Contains(msg, "test.hcl:1,") {
				t.Errorf("error %q does not point into the file", msg)
			}
		})
	}
}

func TestChecksumMatchStarts(t *testing.T) {
	b, err := os.ReadFile(bins.testplugin)
	if err != nil {
		t.Fatal(err)
	}
	_, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin = %q
  sha256 = "%x"
}`, bins.testplugin, sha256.Sum256(b)), Options{}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
}

func TestBadAttributeDiagnostics(t *testing.T) {
	tests := []struct {
		name, block string
		want        []string
	}{
		{"unknown attribute", "producer \"testplugin\" {\n  plugin = %q\n  colour = \"red\"\n}",
			[]string{"test.hcl:3,3-9", "Unsupported argument", "colour"}},
		{"bad duration", "producer \"testplugin\" {\n  plugin = %q\n  every = \"6O s\"\n}",
			[]string{"test.hcl:3,11-17", "Invalid duration", "6O s"}},
		{"wrong type", "producer \"testplugin\" {\n  plugin = %q\n  stats = \"many\"\n}",
			[]string{"test.hcl:3,11-17", "number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := loadBlock(t, fmt.Sprintf(tt.block, bins.testplugin), Options{}, false)
			if !diags.HasErrors() {
				t.Fatal("no diagnostics")
			}
			for _, w := range tt.want {
				if !strings.Contains(diags.Error(), w) {
					t.Errorf("diagnostics %q do not contain %q", diags.Error(), w)
				}
			}
		})
	}
}

func TestBuiltinServedBySelf(t *testing.T) {
	// A built-in plugin runs as `statsherd plugin serve ...`, out of process;
	// a name the built-ins lack is an error naming the way out; a path wins.
	path, args, err := Resolve(sdk.KindOutput, "munin", "", bins.statsherd, builtin.Plugins())
	if err != nil {
		t.Fatalf("Resolve(munin): %v", err)
	}
	if path != bins.statsherd || strings.Join(args, " ") != "plugin serve output munin" {
		t.Errorf("Resolve = %s %v", path, args)
	}
	if _, _, err := Resolve(sdk.KindOutput, "munin", "", bins.statsherd, sdk.Plugins{}); err == nil || !strings.Contains(err.Error(), `plugin = "/path/to/plugin"`) {
		t.Errorf("Resolve(munin) with no built-ins: %v, want an error naming plugin = ...", err)
	}
	if path, args, err := Resolve(sdk.KindOutput, "mine", "/opt/mine", bins.statsherd, sdk.Plugins{}); err != nil || path != "/opt/mine" || args != nil {
		t.Errorf("Resolve with a path = %s %v %v", path, args, err)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	p, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" { plugin = %q }`, bins.testplugin), Options{}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pid := pluginPID(t, p)
	p.Stop(context.Background())
	waitGone(t, pid)
	if _, err := collect(t, p, time.Second); err == nil {
		t.Error("collect after Stop succeeded")
	}
}

// pluginPID asks the test plugin for its pid.
func pluginPID(t *testing.T, p *Plugin) int {
	t.Helper()
	pid := p.Pid()
	if pid == 0 {
		t.Fatal("plugin not running")
	}
	return pid
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("plugin process %d still running", pid)
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func TestPluginLogsRelogged(t *testing.T) {
	var buf testbin.Buffer
	log := hclog.New(&hclog.LoggerOptions{Name: "host", Output: &buf, Level: hclog.Info})
	_, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" {
  plugin = %q
  stats  = 7
}`, bins.testplugin), Options{Logger: log}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "configured") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	line := ""
	for _, l := range strings.Split(buf.String(), "\n") {
		if strings.Contains(l, "configured") {
			line = l
		}
	}
	if !strings.Contains(line, "host.producer.testplugin") || !strings.Contains(line, "stats=7") {
		t.Errorf("plugin's log line not re-logged under its name with its fields: %q\nlog:\n%s", line, buf.String())
	}
}

func TestPluginStdout(t *testing.T) {
	for _, tt := range []struct {
		name      string
		toDaemon  bool
		wantInOut bool
	}{
		{"passed to the daemon's stdout", true, true},
		{"logged as a mistake", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, logs testbin.Buffer
			o := Options{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info})}
			if tt.toDaemon {
				o.Stdout = &out
			}
			spec, diags := SpecFor(config.PluginBlock{Kind: sdk.KindOutput, Name: "testplugin", Plugin: bins.testplugin}, o)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			p, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := p.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.Configure(ctx, sdk.Config(`{"write_file": "-"}`)); err != nil {
				t.Fatal(err)
			}
			if err := p.Write(ctx, sdk.Round{Nodes: []sdk.NodeSample{{ID: "a"}, {ID: "b"}}}); err != nil {
				t.Fatal(err)
			}
			where := &out
			if !tt.wantInOut {
				where = &logs
			}
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(where.String(), "round nodes=2") && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if !strings.Contains(where.String(), "round nodes=2") {
				t.Errorf("the plugin's stdout did not arrive: stdout %q, log %q", out.String(), logs.String())
			}
			// What a plugin prints just before it is stopped arrives too.
			if err := p.Write(ctx, sdk.Round{Nodes: []sdk.NodeSample{{ID: "a"}, {ID: "b"}, {ID: "c"}}}); err != nil {
				t.Fatal(err)
			}
			p.Stop(ctx)
			if tt.toDaemon && !strings.Contains(out.String(), "round nodes=3") {
				t.Errorf("the last output before Stop was lost: %q", out.String())
			}
			if !tt.toDaemon && out.Len() > 0 {
				t.Errorf("stdout written without being asked for: %q", out.String())
			}
		})
	}
}
