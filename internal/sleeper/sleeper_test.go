package sleeper

import (
	"runtime"
	"testing"
	"time"
)

// On Linux the sleeps must go through the timerfd, not silently fall
// back to a runtime timer.
func TestLinuxSleepsOnATimerfd(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the timerfd is Linux's")
	}
	s := New(make(chan struct{}))
	defer s.Close()
	if s.t == nil {
		t.Fatal("no timerfd: the Sleeper sleeps on a time.Timer")
	}
}

// Each of repeated sleeps lasts at least what was asked, and not much
// more (the bound is loose: the machine may be busy).
func TestSleepsLastWhatWasAsked(t *testing.T) {
	s := New(make(chan struct{}))
	defer s.Close()
	for _, d := range []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		start := time.Now()
		if !s.Sleep(d) {
			t.Fatalf("Sleep(%s) returned false with stop open", d)
		}
		if got := time.Since(start); got < d || got > d+2*time.Second {
			t.Errorf("Sleep(%s) took %s", d, got)
		}
	}
}

// A sleep of an hour ends as soon as stop is closed, and so does any
// later one.
func TestStopEndsASleepPromptly(t *testing.T) {
	stop := make(chan struct{})
	s := New(stop)
	defer s.Close()
	ended := make(chan bool)
	start := time.Now()
	go func() { ended <- s.Sleep(time.Hour) }()
	time.Sleep(20 * time.Millisecond)
	close(stop)
	select {
	case ok := <-ended:
		if ok {
			t.Error("a stopped Sleep returned true")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing stop did not end the sleep")
	}
	if s.Sleep(time.Hour) {
		t.Error("a Sleep after stop returned true")
	}
	if got := time.Since(start); got > 5*time.Second {
		t.Errorf("stopping took %s", got)
	}
}

// Close before stop: the file is released and a sleep still works, on a
// timer.
func TestSleepAfterClose(t *testing.T) {
	s := New(make(chan struct{}))
	s.Close()
	s.Close()
	time.Sleep(10 * time.Millisecond) // let the closer run
	start := time.Now()
	if !s.Sleep(10*time.Millisecond) || time.Since(start) < 10*time.Millisecond {
		t.Error("a sleep after Close did not sleep")
	}
}

// The timerfd's read waits for the timer: a sleep is not over before
// its time even right after an earlier one fired.
func TestTimerfdWaits(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the timerfd is Linux's")
	}
	tf, err := newTimerfd()
	if err != nil {
		t.Fatal(err)
	}
	defer tf.close()
	for range 3 {
		start := time.Now()
		if err := tf.wait(15 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got < 15*time.Millisecond {
			t.Errorf("wait(15ms) took %s", got)
		}
	}
}
