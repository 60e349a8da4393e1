//go:build !unix

package wire

// WaitReadable returns at once on this platform: the read that follows
// waits instead.
func (c *Conn) WaitReadable() error { return nil }
