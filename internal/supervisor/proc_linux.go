package supervisor

import (
	"os/exec"
	"syscall"
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
