//go:build unix

package wire

import (
	"net"
	"syscall"
)

// WaitReadable blocks until the connection has something to read: bytes,
// end of file or an error (which the next read returns). It holds no
// buffer, and its goroutine waits on a shallow stack, which the garbage
// collector shrinks to the minimum: thousands of idle connections cost
// little while they wait between polls. It returns an error if the
// connection is closed or its read deadline passes.
//
// Bytes the TLS layer has already buffered are not seen: call it only
// when the peer has no reason to have sent more than was read (between a
// host's answer and the next poll). Where the connection is not a socket,
// it returns at once.
func (c *Conn) WaitReadable() error {
	nc := c.nc
	if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
		nc = t.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var b [1]byte
	return rc.Read(func(fd uintptr) bool {
		// Peek, so that the bytes stay for the read: ready unless the
		// socket would block. Waiting only on readiness events could
		// miss bytes that arrived before the last read ended.
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return n > 0 || err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
	})
}
