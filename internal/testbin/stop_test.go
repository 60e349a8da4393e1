package testbin

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func started(t *testing.T, script string) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	return cmd, done
}

func TestStop(t *testing.T) {
	t.Parallel()
	cmd, done := started(t, "sleep 60")
	if !Stop(cmd.Process, done, syscall.SIGTERM, 10*time.Second) {
		t.Errorf("sleep did not end on SIGTERM")
	}
	if !Stop(cmd.Process, done, syscall.SIGTERM, time.Second) {
		t.Errorf("a second Stop of an ended process says it was killed")
	}
	// A process that ignores SIGTERM is killed after the wait.
	cmd, done = started(t, "trap '' TERM; while :; do sleep 0.05; done")
	time.Sleep(100 * time.Millisecond) // let the shell set its trap
	if Stop(cmd.Process, done, syscall.SIGTERM, 300*time.Millisecond) {
		t.Errorf("a process ignoring SIGTERM was reported stopped by it")
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("process ended with %v, want SIGKILL", cmd.ProcessState)
	}
}
