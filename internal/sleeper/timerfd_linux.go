//go:build linux

package sleeper

import (
	"encoding/binary"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerfd is a one-shot CLOCK_MONOTONIC timerfd, nonblocking, so that
// os.NewFile hands it to the runtime's poller: a read parks the goroutine
// there, with no timeout, until the timer fires.
type timerfd struct {
	f *os.File
}

func newTimerfd() (*timerfd, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	return &timerfd{f: os.NewFile(uintptr(fd), "timerfd")}, nil
}

// wait arms the timer for d and reads its expiry.
func (t *timerfd) wait(d time.Duration) error {
	rc, err := t.f.SyscallConn()
	if err != nil {
		return err
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	var serr error
	// Control holds the file open while the timer is armed (arming
	// resets the expiries not yet read).
	if err := rc.Control(func(fd uintptr) {
		serr = unix.TimerfdSettime(int(fd), 0, &spec, nil)
	}); err != nil {
		return err
	}
	if serr != nil {
		return os.NewSyscallError("timerfd_settime", serr)
	}
	var buf [8]byte
	n, err := t.f.Read(buf[:])
	if err != nil {
		return err
	}
	if n != 8 || binary.NativeEndian.Uint64(buf[:]) == 0 {
		return errors.New("timerfd: short read")
	}
	return nil
}

func (t *timerfd) close() { t.f.Close() }
