//go:build !linux

package supervisor

import (
	"context"
	"os/exec"
	"sync"

	"github.com/hashicorp/go-hclog"
)

func setProcAttr(*exec.Cmd) {}

func killGroup(int) {}

// Subreap does nothing on this system: see the Linux version.
func Subreap(context.Context, hclog.Logger) (sweep func()) { return func() {} }

const envMarker = "STATSHERD_SUPERVISOR_PID"

var children struct{ launching sync.RWMutex }

func recordChild(int) {}
func forgetChild(int) {}
