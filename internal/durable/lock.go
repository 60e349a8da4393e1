package durable

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked is what Lock's error matches when another holder has the
// lock: errors.Is(err, ErrLocked) is the caller's cue to say who that
// is likely to be and what to do.
var ErrLocked = errors.New("held by another process")

// Lock takes an exclusive lock (flock) on path, creating it (mode 0600,
// empty) if missing, without waiting. The lock is held until the
// returned file is closed or the process exits: the kernel releases it
// even after a crash, so there is never a stale lock to remove. The lock
// belongs to the open file, so a second Lock of the same path fails even
// in the same process.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return f, nil
}
