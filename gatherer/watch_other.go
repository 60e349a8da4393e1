//go:build !linux

package gatherer

import "errors"

// idleWatcher is Linux only (watch_linux.go): elsewhere each host
// connection keeps a reader goroutine (host.read).
type idleWatcher struct{}

func newIdleWatcher() (*idleWatcher, error) { return nil, nil }

func (*idleWatcher) watch(*host, func()) error {
	return errors.New("no idle watcher on this system")
}

func (*idleWatcher) close() {}
