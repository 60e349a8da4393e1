//go:build !linux

package reaper

import (
	"context"
	"syscall"

	"github.com/hashicorp/go-hclog"
)

// Launch runs start: this system has no subreaper to keep records for.
func Launch(start func() (int, error)) error { _, err := start(); return err }

// Waited does nothing on this system.
func Waited(int) {}

// Start does nothing on this system: see the Linux version.
func Start(context.Context, hclog.Logger) (sweep func()) { return func() {} }

// End kills the process group on this system: see the Linux version.
func End(group int, _ string) {
	if group > 0 {
		_ = syscall.Kill(-group, syscall.SIGKILL)
	}
}
