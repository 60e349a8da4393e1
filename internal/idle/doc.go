// Package idle waits for many idle connections to become readable with
// one goroutine, instead of one goroutine parked per connection.
//
// A Watcher is one epoll instance (Linux only) and one goroutine. A
// connection is handed to Watch with a ready function; when the
// connection has something to read (bytes, end of file, an error), ready
// runs on a goroutine of its own, reads, and by returning true asks to be
// watched again. Between messages a connection costs no goroutine and no
// stack. On other systems the package is empty: callers keep a goroutine
// per connection (see the gatherer's read loop).
package idle
