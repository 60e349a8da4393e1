package supervisor

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the plugin if the daemon dies without
// cleaning up (SIGKILL, a crash), so no plugin process outlives it.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
