//go:build !linux

package loadgen

import "errors"

var errNoProc = errors.New("reading processes needs Linux's /proc")

// readProc reads nothing here: see the Linux version.
func readProc(int) (proc, bool) { return proc{}, false }

// descendants finds none here: see the Linux version.
func descendants(int) []int { return nil }

// resetPeak cannot here: see the Linux version.
func resetPeak(int) error { return errNoProc }
