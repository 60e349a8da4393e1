//go:build unix && !linux

package exec

import "syscall"

func becomeSubreaper() error { return nil }

func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killOrphans(string) {}
