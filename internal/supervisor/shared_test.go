package supervisor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/sdk"
)

func newSharedPool(t *testing.T) *Pool {
	t.Helper()
	pool, err := NewShared(sdk.KindProducer, SharedOptions{
		Self:       bins.statsherd,
		Builtins:   builtin.Plugins(),
		Logger:     hclog.New(&hclog.LoggerOptions{Output: testWriter{t}, Level: hclog.Debug}),
		MinBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// Built-ins in a shared pool run in one process, each with its own stats;
// a third-party plugin keeps a process of its own; when the shared process
// is killed, every built-in in it is served again by one fresh process.
func TestSharedBuiltinsOneProcessRestartedTogether(t *testing.T) {
	pool := newSharedPool(t)
	o := Options{Shared: pool, MinBackoff: 50 * time.Millisecond}
	var ps []*Plugin
	for _, name := range []string{"uptime", "load_monitor", "cpu_monitor"} {
		p, diags := loadBlock(t, `producer "`+name+`" {}`, o, true)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		ps = append(ps, p)
	}
	third, diags := loadBlock(t, fmt.Sprintf(`producer "testplugin" { plugin = %q }`, bins.testplugin), o, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	pid := pool.Pid()
	if pid == 0 {
		t.Fatal("the shared process does not run")
	}
	for _, p := range ps {
		if p.Pid() != pid {
			t.Errorf("%s runs in process %d, not the shared %d", p.Name(), p.Pid(), pid)
		}
		if _, err := collect(t, p, 5*time.Second); err != nil {
			t.Errorf("%s: %v", p.Name(), err)
		}
	}
	if tp := third.Pid(); tp == 0 || tp == pid {
		t.Errorf("the third-party plugin runs in process %d; want one of its own, not the shared %d", tp, pid)
	}

	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	_, err := collect(t, ps[0], 5*time.Second)
	// The call finds the crash, or the process's exit was seen first and
	// the plugin is already waiting to restart: either says why.
	if err == nil || !strings.Contains(err.Error(), "crashed") && !strings.Contains(err.Error(), "exited") {
		t.Errorf("collect from the killed process: error %v, want a crash", err)
	}
	for _, p := range ps {
		if s := p.State(); s.Up {
			t.Errorf("%s is up after its process was killed", p.Name())
		}
	}
	var newPid int
	for _, p := range ps {
		var err error
		for i := 0; ; i++ {
			if _, err = collect(t, p, 5*time.Second); err == nil {
				break
			}
			if i > 200 {
				t.Fatalf("%s never served again: %v", p.Name(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if s := p.State(); !s.Up || s.Restarts != 1 || s.Starts != 2 {
			t.Errorf("%s after the restart: up %v, starts %d, restarts %d; want up, 2, 1", p.Name(), s.Up, s.Starts, s.Restarts)
		}
		if newPid == 0 {
			newPid = p.Pid()
		}
		if p.Pid() != newPid || newPid == pid {
			t.Errorf("%s runs in process %d after the restart; want the one fresh shared process (%d), not the killed %d", p.Name(), p.Pid(), newPid, pid)
		}
	}
	if _, err := collect(t, third, 5*time.Second); err != nil {
		t.Errorf("the third-party plugin suffered from the shared process's crash: %v", err)
	}
	if s := third.State(); s.Restarts != 0 {
		t.Errorf("the third-party plugin restarted %d times", s.Restarts)
	}

	// The last built-in to stop ends the shared process.
	for _, p := range ps[1:] {
		p.Stop(context.Background())
	}
	if !alive(newPid) {
		t.Fatal("the shared process ended while a built-in still ran in it")
	}
	if _, err := collect(t, ps[0], 5*time.Second); err != nil {
		t.Errorf("uptime after the others stopped: %v", err)
	}
	ps[0].Stop(context.Background())
	waitGone(t, newPid)
}

// A shared process that hangs (SIGSTOP) is killed at the first built-in's
// deadline, and a fresh one serves.
func TestSharedHungProcessIsReplaced(t *testing.T) {
	pool := newSharedPool(t)
	o := Options{Shared: pool, MinBackoff: 50 * time.Millisecond}
	a, diags := loadBlock(t, `producer "uptime" { timeout = "300ms" }`, o, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	b, diags := loadBlock(t, `producer "load_monitor" {}`, o, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	// Both answer first, so that the process frozen below is the one
	// serving them (on a loaded machine a first call past the 300 ms
	// deadline would have replaced it already).
	for _, p := range []*Plugin{a, b} {
		for i := 0; ; i++ {
			if _, err := collect(t, p, 5*time.Second); err == nil {
				break
			} else if i > 50 {
				t.Fatalf("%s does not answer: %v", p.Name(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	pid := pool.Pid()
	if a.Pid() != pid || b.Pid() != pid {
		t.Fatalf("processes %d and %d, shared %d", a.Pid(), b.Pid(), pid)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	waitStopped(t, pid) // the stop is not synchronous with kill(2)
	_, err := collect(t, a, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "did not answer within") || !strings.Contains(err.Error(), "shared with the other built-in producers") {
		t.Errorf("collect from a frozen shared process: %v; want a deadline error naming the shared process", err)
	}
	waitGone(t, pid)
	for _, p := range []*Plugin{a, b} {
		var err error
		for i := 0; ; i++ {
			if _, err = collect(t, p, 5*time.Second); err == nil {
				break
			}
			if i > 200 {
				t.Fatalf("%s never served again: %v", p.Name(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if a.Pid() != b.Pid() || a.Pid() == pid {
		t.Errorf("after the hang: processes %d and %d, frozen %d; want one fresh shared process", a.Pid(), b.Pid(), pid)
	}
}

// Two instances of one built-in in the shared process (a reload starts the
// changed block before it stops the old one) keep their own state: stopping
// one leaves the other serving.
func TestSharedInstancesAreSeparate(t *testing.T) {
	pool := newSharedPool(t)
	o := Options{Shared: pool}
	dirA, dirB := t.TempDir(), t.TempDir()
	old, diags := loadBlock(t, fmt.Sprintf(`producer "disk" { path = %q }`, dirA), o, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	fresh, diags := loadBlock(t, fmt.Sprintf(`producer "disk" { path = %q }`, dirB), o, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if old.Pid() != fresh.Pid() {
		t.Fatalf("two built-ins in processes %d and %d, want one", old.Pid(), fresh.Pid())
	}
	// The old instance still measures its own path, not the new one's.
	if err := os.Remove(dirA); err != nil {
		t.Fatal(err)
	}
	if _, err := collect(t, old, 5*time.Second); err == nil || !strings.Contains(err.Error(), dirA) {
		t.Errorf("the old instance, its path removed: error %v; want one naming %s", err, dirA)
	}
	old.Stop(context.Background())
	if _, err := collect(t, fresh, 5*time.Second); err != nil {
		t.Errorf("the new instance after the old one stopped: %v", err)
	}
}

// A built-in's config error in the shared process points into its own
// block, and the others in the process go on.
func TestSharedConfigErrorIsThePluginsOwn(t *testing.T) {
	pool := newSharedPool(t)
	o := Options{Shared: pool}
	good, diags := loadBlock(t, `producer "uptime" {}`, o, true)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	_, diags = loadBlock(t, "producer \"disk\" {\n  path = \"/\"\n  bogus = 1\n}", o, true)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "test.hcl:3,3") || !strings.Contains(diags.Error(), "bogus") {
		t.Errorf("diagnostics %v; want one at test.hcl:3,3 about bogus", diags)
	}
	if _, err := collect(t, good, 5*time.Second); err != nil {
		t.Errorf("uptime after another built-in's config error: %v", err)
	}
}
