//go:build !linux

package supervisor

import (
	"os/exec"
	"time"
)

func setProcAttr(*exec.Cmd) {}

func killGroup(int) {}

func withTimerSlack(_ time.Duration, start func()) { start() }
