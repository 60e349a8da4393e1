package supervisor

import (
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// setProcAttr starts the plugin as the leader of its own process group, so
// that it and every descendant that stays in the group can be killed at
// once (killGroup), and makes the kernel kill the plugin if the daemon dies
// without cleaning up (SIGKILL, a crash).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends SIGKILL to the process group led by pid: the plugin and
// all its descendants that did not leave the group. SIGKILL also ends a
// stopped (SIGSTOP) process.
func killGroup(pid int) {
	if pid > 0 {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}

// withTimerSlack runs start, which starts a plugin's process, on a thread
// whose timer slack is slack, so that the process starts with it: a child
// inherits the timer slack of the thread that forks it, and each of its
// threads that of the thread that creates it. The thread's own slack is
// put back afterwards. slack 0, or a kernel refusing it, runs start as it
// is.
//
// A larger slack lets the kernel end a thread's timed sleep later, to wake
// it together with others. An idle Go process's timed sleeps are its
// monitor thread's (sysmon): while any P is busy it sleeps 20 µs at a
// time, 50 µs more with the default slack, to take a P back from a thread
// stuck in a system call, and hands the P to another thread if one waits.
// In a process that answers a few calls a minute, each burst of work is
// then 20–40 of sysmon's wake-ups and a P handed between threads on most
// system calls over 20 µs (reading /proc). With 1 ms, sysmon wakes a few
// times a burst and the thread in the call keeps its P. The runtime's
// timers are read through epoll_wait's timeout, so may run up to the
// slack late, and preemption and the network poll wait up to the slack
// longer: nothing a producer's process does in microseconds
// (docs/footprint.md, "Idle CPU, fifth stop").
func withTimerSlack(slack time.Duration, start func()) {
	if slack <= 0 {
		start()
		return
	}
	// The goroutine keeps this thread until the slack is put back; the
	// runtime starts no new thread from a locked one (it inherits
	// nothing from it).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	was, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(slack.Nanoseconds()), 0, 0, 0) != nil {
		start()
		return
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(was), 0, 0, 0)
	start()
}
