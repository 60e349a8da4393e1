//go:build !linux

package supervisor

import "os/exec"

func setProcAttr(*exec.Cmd) {}

func killGroup(int) {}
