package host_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/sdk"
)

// newMark is a unique environment variable; the host started with it
// passes it to its plugins, and they to everything they start.
func newMark() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "STATSHERD_TEST_MARK=" + hex.EncodeToString(b)
}

// markedProcs lists the live processes carrying mark, with their command
// lines, leaving out the pids in except.
func markedProcs(mark string, except ...int) map[int]string {
	out := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !processAlive(pid) {
			continue
		}
		skip := false
		for _, x := range except {
			skip = skip || x == pid
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if skip || err != nil || !bytes.Contains(append([]byte{0}, env...), []byte("\x00"+mark+"\x00")) {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

// countWith counts the processes in m whose command line starts with s.
func countWith(m map[int]string, s string) int {
	n := 0
	for _, c := range m {
		if strings.HasPrefix(c, s) {
			n++
		}
	}
	return n
}

// expectNoneLeft waits (at most 10 s) until no process but except carries
// mark, and fails, killing them, if some remain.
func expectNoneLeft(t *testing.T, mark, when string, except ...int) {
	t.Helper()
	var left map[int]string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if left = markedProcs(mark, except...); len(left) == 0 {
			return
		}
	}
	for pid, cmd := range left {
		t.Errorf("%s: process %d (%s) still running", when, pid, cmd)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// The exec producer's `sleep &`: nothing is left after ten collects, nor
// after the host stops.
func TestE2EExecLeavesNoProcess(t *testing.T) {
	t.Parallel()
	mark := newMark()
	d := startDaemonEnv(t, `
nickname = "exec"
reporting { statsd = "" }
status { listen = "127.0.0.1:0" }
producer "exec" {
  command = ["/bin/sh", "-c", "sleep 3602 >/dev/null 2>&1 & echo exec.val 1"]
}
`, []string{mark})
	for range 10 {
		st, _ := d.poll(5 * time.Second)
		if st.Stats["exec.val"] != sdk.Int(1) {
			t.Fatalf("exec.val = %v\n%s", st.Stats["exec.val"], d.stderr)
		}
	}
	if n := countWith(markedProcs(mark), "sleep"); n > 0 {
		t.Errorf("%d sleeps left running after 10 collects: %v", n, markedProcs(mark))
	}
	// Nor do the killed ones pile up as zombies of the exec plugin's
	// process.
	found := false
	for pid, cmd := range markedProcs(mark) {
		if !strings.HasSuffix(cmd, "plugin serve producer") { // the built-ins' shared process
			continue
		}
		found = true
		zombies := 0
		for _, c := range childrenOf(pid) {
			if !processAlive(c) {
				zombies++
			}
		}
		if zombies > 1 {
			t.Errorf("the exec plugin has %d zombie children after 10 collects", zombies)
		}
	}
	if !found {
		t.Errorf("no exec plugin among %v", markedProcs(mark))
	}
	d.stop()
	expectNoneLeft(t, mark, "after the host stopped")
}

// A child a producer starts in Configure, in its process group or in a
// session of its own, dies when the host stops (SIGTERM).
func TestE2EPluginChildrenDieWithHost(t *testing.T) {
	t.Parallel()
	mark := newMark()
	d := startDaemonEnv(t, `
nickname = "children"
reporting { statsd = "" }
status { listen = "127.0.0.1:0" }
producer "a" {
  plugin = "PLUGIN"
  spawn  = ["/bin/sh", "-c", "sleep 3601 & sleep 3602"]
}
producer "b" {
  plugin = "PLUGIN"
  spawn  = ["setsid", "/bin/sh", "-c", "sleep 3603 & sleep 3604"]
}
`, []string{mark})
	d.pollUntil("both producers answer", func(st sdk.Stats) bool {
		return st.Stats["a.answer"] == sdk.Int(42) && st.Stats["b.answer"] == sdk.Int(42)
	})
	// The shells fork their sleeps in their own time: wait for all four.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n := countWith(markedProcs(mark), "sleep 36")
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sleeps running, want 4: %v", n, markedProcs(mark))
		}
	}
	d.stop()
	expectNoneLeft(t, mark, "after SIGTERM")
}

// A producer frozen by SIGSTOP is killed at its deadline plus the grace,
// and a fresh process serves.
func TestE2EFrozenProducerIsReplaced(t *testing.T) {
	t.Parallel()
	mark := newMark()
	d := startDaemonEnv(t, `
nickname = "frozen"
reporting { statsd = "" }
status { listen = "127.0.0.1:0" }
producer "f" {
  plugin  = "PLUGIN"
  timeout = "500ms"
}
`, []string{mark})
	d.pollUntil("the producer answers", func(st sdk.Stats) bool { return st.Stats["f.answer"] == sdk.Int(42) })
	var frozen int
	for pid, cmd := range markedProcs(mark, d.cmd.Process.Pid) {
		if strings.Contains(cmd, bins.testproducer) {
			frozen = pid
		}
	}
	if frozen == 0 {
		t.Fatalf("no producer process among %v", markedProcs(mark))
	}
	if err := syscall.Kill(frozen, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(frozen, syscall.SIGKILL)
	d.pollUntil("the frozen producer is down", func(st sdk.Stats) bool { return st.Stats["statsherd.producer.f.up"] == sdk.Int(0) })
	for i := 0; processAlive(frozen); i++ {
		if i > 200 {
			t.Fatalf("frozen producer %d still there 10s after it was found down", frozen)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := d.pollUntil("a replacement answers", func(st sdk.Stats) bool { return st.Stats["f.answer"] == sdk.Int(42) })
	if st.Counters["statsherd.producer.f.restarts"] < 1 {
		t.Errorf("restarts = %d, want at least 1", st.Counters["statsherd.producer.f.restarts"])
	}
}

// A producer block's own timeout bounds its collect, below poll_timeout.
func TestE2EProducerTimeoutHonoured(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, `
nickname     = "timeout"
poll_timeout = "8s"
reporting { statsd = "" }
status { listen = "127.0.0.1:0" }
producer "slow" {
  plugin  = "PLUGIN"
  mode    = "slow"
  timeout = "300ms"
}
producer "ok" { plugin = "PLUGIN" }
`)
	st, _ := d.poll(8 * time.Second)
	if _, ok := st.Stats["slow.answer"]; ok {
		t.Errorf("a producer taking 2s answered despite its 300ms timeout")
	}
	if st.Stats["ok.answer"] != sdk.Int(42) {
		t.Errorf("ok.answer = %v", st.Stats["ok.answer"])
	}
	if st.Counters["statsherd.producer.slow.failures"] != 1 || st.Stats["statsherd.producer.slow.up"] != sdk.Int(0) {
		t.Errorf("slow producer: failures %d, up %v; want 1 and 0", st.Counters["statsherd.producer.slow.failures"], st.Stats["statsherd.producer.slow.up"])
	}
	for i := 0; !strings.Contains(d.stderr.String(), "did not answer within"); i++ {
		if i > 100 {
			t.Fatalf("no deadline error logged:\n%s", d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A producer that starts a child and hangs before its handshake, the host
// told to stop (SIGTERM) while it waits: once the host has exited (after
// the start timeout), nothing is left.
func TestE2EHangBeforeHandshakeLeavesNothing(t *testing.T) {
	t.Parallel()
	mark := newMark()
	dir := shortTempDir(t)
	script := filepath.Join(dir, "hang.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 3613 &\nexec sleep 3614\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := writeConfig(t, dir, `
nickname = "hang"
reporting { statsd = "" }
status { listen = "" }
producer "h" { plugin = "`+script+`" }
`)
	var stderr testbin.Buffer
	cmd := exec.Command(bins.statsherd, "host", "-config", path)
	cmd.Env = append(os.Environ(), mark)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for i := 0; countWith(markedProcs(mark), "sleep 361") < 2; i++ {
		if i > 500 {
			cmd.Process.Kill()
			t.Fatalf("the hanging plugin never started its children: %v\n%s", markedProcs(mark), stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("host did not exit:\n%s", stderr.String())
	}
	expectNoneLeft(t, mark, "after the host exited")
}
