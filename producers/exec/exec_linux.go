package exec

import "syscall"

func procAttr() *syscall.SysProcAttr {
	// Pdeathsig: the command dies with this plugin, even on SIGKILL.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
