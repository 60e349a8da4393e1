package testbin

import (
	"os"
	"time"
)

// Stop ends a process a test started, by its PID: it sends sig and waits
// for done (closed when the process has been waited for) up to wait, then
// SIGKILLs it and waits again. It reports whether the process ended on sig
// (or had ended already); false means it had to be killed.
func Stop(p *os.Process, done <-chan struct{}, sig os.Signal, wait time.Duration) bool {
	select {
	case <-done:
		return true
	default:
	}
	p.Signal(sig)
	select {
	case <-done:
		return true
	case <-time.After(wait):
		p.Kill()
		<-done
		return false
	}
}
