package testbin

import (
	"fmt"
	"os"
	"testing"
)

// Target is a main package a test package needs, built into *Path.
type Target struct {
	Path *string
	Pkg  string
}

// Main is the body of a TestMain that needs binaries: it builds every
// target from the working tree into a new temporary directory, runs the
// tests, removes the directory and returns the exit code. The directory is
// readable by everyone, as tests whose binaries another user runs (munin
// runs plugins as nobody) need. A build failure fails the package.
func Main(m *testing.M, targets ...Target) int {
	dir, err := os.MkdirTemp("", "statsherd-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, t := range targets {
		if *t.Path, err = Build(dir, t.Pkg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}
