package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockFile is the file in the basedir that a running host holds locked
// (flock), so that a second host on the same basedir (the same node id)
// refuses to start instead of taking over its address files.
const lockFile = "host.lock"

// lockBasedir takes the basedir's lock, or says that another host holds it.
// Closing the returned file releases it.
func lockBasedir(basedir string) (*os.File, error) {
	path := filepath.Join(basedir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another host is running with basedir %s (it holds %s): each host needs a basedir of its own, since its node key is its node id; stop the other one or give this one another basedir", basedir, lockFile)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}

// inUseHint says what to do when a listener's address is taken, most
// often by a second host on the machine with the default ports.
func inUseHint(err error, attr string) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	return "; another program (a second host on this machine?) listens there: give each host its own " + attr + " in its file"
}
