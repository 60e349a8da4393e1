package reaper

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// envNoReaper runs the test binary without the process's reaper, so a
// test sees what End does alone (TestEndGroupAlone).
const envNoReaper = "STATSHERD_REAPER_TEST_ALONE"

func TestMain(m *testing.M) {
	if os.Getenv(envNoReaper) == "1" {
		// Subreaper without the reaper, so that what the tests leave is
		// re-parented here and not to the parent test process (a
		// subreaper too), and reaped below before exiting.
		syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
		code := m.Run()
		for {
			var ws syscall.WaitStatus
			if n, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); n <= 0 || err != nil {
				break
			}
		}
		os.Exit(code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sweep := Start(ctx, nil)
	code := m.Run()
	cancel()
	sweep()
	os.Exit(code)
}

// mark is a fresh NAME=VALUE to find a test's processes by.
func mark() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "STATSHERD_REAPER_TEST=" + hex.EncodeToString(b)
}

// carrying lists the processes, dead or alive, whose environment holds m
// (a zombie's cannot be read: it is not listed).
func carrying(m string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(append([]byte{0}, env...), []byte("\x00"+m+"\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

func zombieChildren() []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid, _, ok := ProcStat(pid); ok && ppid == os.Getpid() && state == 'Z' {
			out = append(out, pid)
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// A child someone else in the process started with os/exec, unmarked and
// not launched here, is never the reaper's: os/exec gets its exit status
// even after SIGCHLDs and a sweep ran while it was a zombie.
func TestOthersChildrenLeftAlone(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	waitFor(t, "the child to exit", func() bool { s, _, _, _ := ProcStat(pid); return s == 'Z' })
	// Another child's exit: a SIGCHLD, and a full look at the children.
	if err := exec.Command("true").Run(); err != nil {
		t.Fatal(err)
	}
	reap([]byte(Env()+"\x00"), true, 0)
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3: the reaper took another's child", err)
	}
}

// A launched child is left to os/exec while it runs and once it is a
// zombie; what it leaves behind outside its group and session, carrying
// Env(), is killed and reaped at SIGCHLD.
func TestLaunchedChildAndItsOrphans(t *testing.T) {
	m := mark()
	cmd := exec.Command("/bin/sh", "-c", "setsid sh -c 'sleep 3611' & sleep 0.2; exit 4")
	cmd.Env = append(os.Environ(), Env(), m)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := Launch(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	}); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("Wait = %v, want exit status 4: the reaper took a launched child", err)
	}
	Waited(cmd.Process.Pid)
	waitFor(t, "the setsid orphan to be killed", func() bool { return len(carrying(m)) == 0 })
	waitFor(t, "no zombie children", func() bool { return len(zombieChildren()) == 0 })
}

// End kills at once what carries the mark, wherever it runs, and reaps
// what died here.
func TestEndMarked(t *testing.T) {
	m := mark()
	// Double fork in a new session: the sleeps' parent is a shell that
	// is not this process's child.
	cmd := exec.Command("/bin/sh", "-c", `(setsid sh -c "sleep 3612 & sleep 3613" >/dev/null 2>&1 &)`)
	cmd.Env = append(os.Environ(), m)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sleeps to start", func() bool { return len(carrying(m)) >= 2 })
	End(0, m)
	if left := carrying(m); len(left) > 0 {
		t.Fatalf("processes %v carry the mark after End", left)
	}
	waitFor(t, "no zombie children", func() bool { return len(zombieChildren()) == 0 })
}

// running lists the live processes whose command line contains s.
func running(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if state, _, _, ok := ProcStat(pid); err == nil && ok && state != 'Z' && bytes.Contains(cmd, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

// End ends the child's group at once, even what cleared its environment
// (so carries no mark): killed, and reaped before End returns, not at
// some later SIGCHLD.
func TestEndGroup(t *testing.T) {
	if os.Getenv(envNoReaper) == "1" {
		t.Skip("runs with the process's reaper")
	}
	endGroup(t)
}

// TestEndGroupAlone: End kills the group by itself, with no reaper in the
// process to find the orphans (the test binary runs itself without one).
func TestEndGroupAlone(t *testing.T) {
	if os.Getenv(envNoReaper) == "1" {
		endGroup(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEndGroupAlone$", "-test.count=1")
	cmd.Env = append(os.Environ(), envNoReaper+"=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("without a reaper: %v\n%s", err, out)
	}
}

func endGroup(t *testing.T) {
	t.Helper()
	for i := range 5 {
		m := mark()
		arg := fmt.Sprintf("3614.%06d", os.Getpid()%1000000+i)
		cmd := exec.Command("/bin/sh", "-c", "env -i /bin/sleep "+arg+" & exit 0")
		cmd.Env = append(os.Environ(), Env(), m)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := Launch(func() (int, error) {
			if err := cmd.Start(); err != nil {
				return 0, err
			}
			return cmd.Process.Pid, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		Waited(cmd.Process.Pid)
		End(cmd.Process.Pid, m)
		if left := running(arg); len(left) > 0 {
			t.Fatalf("processes %v of the group still run after End", left)
		}
		if z := zombieChildren(); len(z) > 0 {
			t.Fatalf("zombie children %v left after End", z)
		}
	}
}
