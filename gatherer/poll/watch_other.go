//go:build !linux

package poll

import "errors"

// idleWatcher is Linux only (watch_linux.go): elsewhere each host
// connection keeps a reader goroutine (Host.read).
type idleWatcher struct{}

func newIdleWatcher() (*idleWatcher, error) { return nil, nil }

func (*idleWatcher) watch(*Host, func()) error {
	return errors.New("no idle watcher on this system")
}

func (*idleWatcher) close() {}
