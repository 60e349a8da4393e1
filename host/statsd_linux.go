package host

import (
	"net"
	"syscall"
)

// setReadBuffer asks for a receive buffer of size bytes: beyond
// net.core.rmem_max if the host may (CAP_NET_ADMIN, SO_RCVBUFFORCE), else
// up to it. It returns the size granted.
func setReadBuffer(conn *net.UDPConn, size int) int {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0
	}
	granted := 0
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
		}
		granted, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	})
	return granted
}
