//go:build linux

package sleeper

import (
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// timerfd is a one-shot CLOCK_MONOTONIC timerfd, nonblocking, so that
// os.NewFile hands it to the runtime's poller: a read parks the goroutine
// there, with no timeout, until the timer fires.
//
// Arming and reading are raw system calls (they never block: the file is
// nonblocking). A system call made the ordinary way first wakes the
// runtime's monitor thread (sysmon) if it sleeps, so that it can take the
// P back should the call block; sysmon then checks every 20 µs until the
// process is idle again. On a tick of an idle process that is a second
// thread woken, and half the tick's CPU, for calls that take a
// microsecond (docs/footprint.md, "Idle CPU, fifth stop").
type timerfd struct {
	f  *os.File
	rc syscall.RawConn
}

func newTimerfd() (*timerfd, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("timerfd_create", err)
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &timerfd{f: f, rc: rc}, nil
}

// settime arms the timerfd fd, a raw call.
func settime(fd uintptr, spec *unix.ItimerSpec) syscall.Errno {
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(spec)), 0, 0, 0)
	return e
}

// read reads fd into buf, a raw call: fd must be nonblocking.
func read(fd uintptr, buf []byte) (int, syscall.Errno) {
	n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	return int(n), e
}

// wait arms the timer for d and reads its expiry.
func (t *timerfd) wait(d time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	var serr syscall.Errno
	// Control holds the file open while the timer is armed (arming
	// resets the expiries not yet read).
	if err := t.rc.Control(func(fd uintptr) { serr = settime(fd, &spec) }); err != nil {
		return err
	}
	if serr != 0 {
		return os.NewSyscallError("timerfd_settime", serr)
	}
	var buf [8]byte
	var n int
	var rerr syscall.Errno
	// Read parks the goroutine in the poller while the function returns
	// false, until the timerfd is readable or the file is closed.
	if err := t.rc.Read(func(fd uintptr) bool {
		n, rerr = read(fd, buf[:])
		return rerr != syscall.EAGAIN && rerr != syscall.EINTR
	}); err != nil {
		return err
	}
	if rerr != 0 {
		return os.NewSyscallError("read", rerr)
	}
	if n != 8 || binary.NativeEndian.Uint64(buf[:]) == 0 {
		return errors.New("timerfd: short read")
	}
	return nil
}

func (t *timerfd) close() { t.f.Close() }
