// Package testenv says what a test needs from the machine. A test whose
// tool, package or privilege is missing fails under CI=true (.ci/run
// installs everything the tests need, so missing there is a bug) and is
// skipped elsewhere, saying what to install.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may
// be skipped for want of a tool.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing fails the test under CI and skips it elsewhere, with the message.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg + " (CI=true: .ci/run must install it)")
		return
	}
	t.Skip(msg)
}

// LookPath returns the path of the executable name, looked up in PATH and
// then in /usr/sbin and /sbin (daemons Debian installs there while a
// non-root PATH lacks them); missing, it is Missing, naming the Debian
// package pkg that provides it.
func LookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p
		}
	}
	Missing(t, "%s is not installed (apt-get install %s)", name, pkg)
	return ""
}

// NeedRoot is Missing unless the test runs as root; why says what for.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "must run as root: %s", why)
	}
}
