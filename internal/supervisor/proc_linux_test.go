package supervisor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/internal/reaper"
	"github.com/statsherd/statsherd/sdk"
)

// newMarker is a unique environment variable: every process started with
// it, and all their descendants, carry it, so a test can find them all.
func newMarker(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	return "STATSHERD_TEST_MARK=" + hex.EncodeToString(b)
}

// marked lists the live processes whose environment holds marker.
func marked(marker string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), []byte("\x00"+marker+"\x00")) {
			continue
		}
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// waitNoneMarked waits until no process carries marker, and fails the test
// if some still do after 10 s.
func waitNoneMarked(t *testing.T, marker, when string) {
	t.Helper()
	var left []int
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if left = marked(marker); len(left) == 0 {
			return
		}
	}
	for _, pid := range left {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		t.Errorf("%s: process %d (%q) is still running", when, pid, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitMarked waits until n processes carry marker.
func waitMarked(t *testing.T, marker string, n int) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if len(marked(marker)) >= n {
			return
		}
	}
	t.Fatalf("want %d processes running, have %v", n, marked(marker))
}

// startSpec starts and configures the test plugin with an HCL-free config.
func startSpec(t *testing.T, spec Spec, cfg map[string]any) (*Plugin, error) {
	t.Helper()
	if spec.Kind == "" {
		spec.Kind, spec.Name = sdk.KindProducer, "testplugin"
	}
	if spec.Path == "" {
		spec.Path = bins.testplugin
	}
	spec.Logger = hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug})
	p, err := New(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.Start(ctx); err != nil {
		return p, err
	}
	c, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, p.Configure(ctx, sdk.Config(c))
}

// A plugin's own children die with it when it is stopped, when it is
// restarted after a crash, and when a child left the plugin's process
// group (setsid) but the daemon reaps orphans (internal/reaper): at its
// sweep, and while it runs, at a child's exit (SIGCHLD).
func TestPluginChildrenEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sweep := reaper.Start(ctx, hclog.NewNullLogger())
	for _, tc := range []struct {
		name  string
		spawn []string
		crash bool
		sweep bool
	}{
		{name: "stop", spawn: []string{"/bin/sh", "-c", "sleep 3601 & sleep 3602"}},
		{name: "crash", spawn: []string{"/bin/sh", "-c", "sleep 3603 & sleep 3604"}, crash: true},
		{name: "setsid", spawn: []string{"setsid", "/bin/sh", "-c", "sleep 3605 & sleep 3606"}, sweep: true},
		// No sweep: while the daemon runs, the SIGCHLD of the crashed
		// plugin is what finds its orphans.
		{name: "setsid crash reaped while running", spawn: []string{"setsid", "/bin/sh", "-c", "sleep 3607 & sleep 3608"}, crash: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := newMarker(t)
			p, err := startSpec(t, Spec{Env: []string{mark}, MinBackoff: time.Hour},
				map[string]any{"spawn": tc.spawn, "crash": tc.crash})
			if err != nil {
				t.Fatal(err)
			}
			waitMarked(t, mark, 4) // the plugin, sh and two sleeps
			before := marked(mark)
			if tc.crash {
				if _, err := collect(t, p, 5*time.Second); err == nil {
					t.Fatal("a crashing collect succeeded")
				}
			} else {
				p.Stop(context.Background())
			}
			if tc.sweep {
				sweep()
			}
			waitNoneMarked(t, mark, "after the plugin ended")
			// What was re-parented here and killed is reaped too: no
			// zombie children are left.
			sweep()
			for _, pid := range before {
				b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
				if err == nil && bytes.Contains(b, []byte(") Z ")) && bytes.Contains(b, fmt.Appendf(nil, ") Z %d ", os.Getpid())) {
					t.Errorf("process %d is an unreaped zombie child: %s", pid, b)
				}
			}
		})
	}
}

// A plugin that starts children and then hangs before its handshake leaves
// nothing behind when its start times out.
func TestHangBeforeHandshakeLeavesNothing(t *testing.T) {
	mark := newMarker(t)
	script := filepath.Join(t.TempDir(), "hang.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 3611 &\nsleep 3612\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := startSpec(t, Spec{Path: script, Env: []string{mark}, StartTimeout: 500 * time.Millisecond}, nil)
	if err == nil {
		t.Fatal("a plugin that never handshakes started")
	}
	waitNoneMarked(t, mark, "after the start timed out")
}

// A frozen plugin (SIGSTOP) is killed after its deadline and the grace,
// and a fresh process serves the next call.
func TestFrozenPluginIsKilled(t *testing.T) {
	p, err := startSpec(t, Spec{Timeout: 300 * time.Millisecond, MinBackoff: 10 * time.Millisecond}, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	pid := pluginPID(t, p)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	waitStopped(t, pid)
	if _, err := collect(t, p, 10*time.Second); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("collect from a frozen plugin: %v, want a deadline error", err)
	}
	waitGone(t, pid)
	var st sdk.Stats
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if st, err = collect(t, p, 5*time.Second); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no replacement serving: %v", err)
	}
	if got, _ := st.Stats["test.pid"].Int64(); int(got) == pid || got == 0 {
		t.Errorf("answer from pid %d, the frozen one was %d", got, pid)
	}
}

// The restart backoff doubles with each consecutive crash and stops at
// MaxBackoff.
func TestBackoffGrowsToCap(t *testing.T) {
	p, err := startSpec(t, Spec{MinBackoff: 20 * time.Millisecond, MaxBackoff: 160 * time.Millisecond}, map[string]any{"crash": true})
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{20, 40, 80, 160, 160, 160}
	var got []time.Duration
	for len(got) < len(want) {
		_, err := collect(t, p, 5*time.Second)
		if err == nil {
			t.Fatal("a crashing collect succeeded")
		}
		if errors.Is(err, ErrDown) {
			time.Sleep(time.Until(p.State().NextStart))
			continue
		}
		got = append(got, p.State().Backoff/time.Millisecond)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backoffs after consecutive crashes = %v ms, want %v ms", got, want)
	}
	if s := p.State(); s.Failures < int64(len(want)) {
		t.Errorf("state = %+v", s)
	}
}

// waitStopped waits until the kernel has stopped pid (state T).
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	for i := 0; ; i++ {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if j := bytes.LastIndexByte(b, ')'); j > 0 && j+2 < len(b) && b[j+2] == 'T' {
			return
		}
		if i > 500 {
			t.Fatalf("process %d not stopped: %s", pid, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The same holds for an output (the gatherer's plugins): a frozen one is
// killed after its deadline and the grace, and a fresh process is written to.
func TestFrozenOutputIsKilled(t *testing.T) {
	p, err := startSpec(t, Spec{Kind: sdk.KindOutput, Name: "testplugin", Timeout: 300 * time.Millisecond, MinBackoff: 10 * time.Millisecond}, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	pid := pluginPID(t, p)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	waitStopped(t, pid)
	write := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return p.Write(ctx, sdk.Round{})
	}
	if err := write(); err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("write to a frozen output: %v, want a deadline error", err)
	}
	waitGone(t, pid)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if err = write(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no replacement output: %v", err)
	}
	if now := pluginPID(t, p); now == pid {
		t.Errorf("written to the frozen process %d again", pid)
	}
}

// timerSlacks is the timer slack of each thread of process pid, in ns.
func timerSlacks(t *testing.T, pid int) map[string]int64 {
	t.Helper()
	tids, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, tid := range tids {
		// /proc/TID, not /proc/PID/task/TID: only the former has it.
		b, err := os.ReadFile("/proc/" + tid.Name() + "/timerslack_ns")
		if errors.Is(err, os.ErrNotExist) {
			continue // a thread gone
		}
		if err != nil {
			t.Skipf("no timer slack to read (a kernel before 4.6?): %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[tid.Name()] = n
	}
	return out
}

// A shared pool's process and every thread it has run with the pool's
// timer slack; the daemon's own threads keep theirs.
func TestSharedProcessHasItsTimerSlack(t *testing.T) {
	mine := timerSlacks(t, os.Getpid())
	pool, err := NewShared(sdk.KindProducer, SharedOptions{
		Self:       bins.statsherd,
		Builtins:   builtin.Plugins(),
		Logger:     hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug}),
		MinBackoff: 50 * time.Millisecond,
		TimerSlack: 3 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, diags := loadBlock(t, `producer "uptime" {}`, Options{Shared: pool}, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := collect(t, p, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	pid := pool.Pid()
	if pid == 0 {
		t.Fatal("the shared process does not run")
	}
	for tid, ns := range timerSlacks(t, pid) {
		if ns != 3_000_000 {
			t.Errorf("thread %s of the shared process: timer slack %d ns, want 3000000", tid, ns)
		}
	}
	for tid, ns := range timerSlacks(t, os.Getpid()) {
		if was, ok := mine[tid]; ok && ns != was || !ok && ns != mine[strconv.Itoa(os.Getpid())] {
			t.Errorf("the daemon's thread %s: timer slack %d ns, was %d", tid, ns, mine[tid])
		}
	}
}
