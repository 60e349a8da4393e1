//go:build !linux

package sleeper

import (
	"errors"
	"time"
)

type timerfd struct{}

func newTimerfd() (*timerfd, error) { return nil, errors.New("no timerfd") }

func (*timerfd) wait(time.Duration) error { return errors.New("no timerfd") }

func (*timerfd) close() {}
