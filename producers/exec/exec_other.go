//go:build unix && !linux

package exec

import (
	osexec "os/exec"
	"syscall"
)

func becomeSubreaper() error { return nil }

func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killOrphans(string) {}

func startCmd(cmd *osexec.Cmd) error { return cmd.Start() }

func waited(int) {}
