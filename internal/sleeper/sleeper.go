// Package sleeper sleeps long durations (seconds to minutes) in an
// otherwise idle process without a far-off runtime timer.
//
// A Go timer set seconds ahead fires late in an idle process, and costs
// CPU while late: the thread that runs timers sleeps in epoll_wait, whose
// timeout the kernel lets run late by 0.1 % of itself (10 ms for a 10 s
// timer, 60 ms for 60 s), while the runtime's monitor thread (sysmon),
// which sleeps until the timer is due, wakes on time and checks every
// 20 µs until the timer has run: 35–50 wake-ups, up to 1 ms of CPU, a
// timer (docs/footprint.md, "Long timers in an idle process"). On Linux a
// Sleeper sleeps on a timerfd read through the runtime's poller instead:
// the poller waits with no timeout, sysmon sleeps on, and the timerfd
// fires within the task's timer slack (50 µs). Elsewhere, or if the
// timerfd cannot be made, it sleeps on a time.Timer.
package sleeper

import (
	"sync"
	"time"
)

// A Sleeper sleeps one goroutine at a time until its stop channel is
// closed. Close it once its last Sleep has returned.
type Sleeper struct {
	stop   <-chan struct{}
	t      *timerfd // nil: sleep on a time.Timer
	closed chan struct{}
	once   sync.Once
}

// New returns a Sleeper whose sleeps end early, returning false, once
// stop is closed.
func New(stop <-chan struct{}) *Sleeper {
	s := &Sleeper{stop: stop, closed: make(chan struct{})}
	if t, err := newTimerfd(); err == nil {
		s.t = t
		// A read parked in the poller ends when the file is closed.
		go func() {
			select {
			case <-stop:
			case <-s.closed:
			}
			t.close()
		}()
	}
	return s
}

// Sleep waits d and returns true, or returns false as soon as stop is
// closed (at once if it already is).
func (s *Sleeper) Sleep(d time.Duration) bool {
	select {
	case <-s.stop:
		return false
	default:
	}
	if s.t != nil && d > 0 {
		if err := s.t.wait(d); err == nil {
			return true
		}
		// Closed by stop, or an error the timerfd cannot recover
		// from: from now on sleep on a timer.
		select {
		case <-s.stop:
			return false
		default:
		}
	}
	return s.timerSleep(d)
}

func (s *Sleeper) timerSleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

// Close releases the Sleeper's file; no Sleep may run then or after.
func (s *Sleeper) Close() {
	s.once.Do(func() { close(s.closed) })
}
