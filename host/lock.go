package host

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/statsherd/statsherd/internal/durable"
)

// lockFile is the file in the basedir that a running host holds locked
// (flock), so that a second host on the same basedir (the same node id)
// refuses to start instead of taking over its address files.
const lockFile = "host.lock"

// lockBasedir takes the basedir's lock, or says that another host holds it.
// Closing the returned file releases it.
func lockBasedir(basedir string) (*os.File, error) {
	f, err := durable.Lock(filepath.Join(basedir, lockFile))
	if errors.Is(err, durable.ErrLocked) {
		return nil, fmt.Errorf("another host is running with basedir %s (it holds %s): each host needs a basedir of its own, since its node key is its node id; stop the other one or give this one another basedir", basedir, lockFile)
	}
	if err != nil {
		return nil, err
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
