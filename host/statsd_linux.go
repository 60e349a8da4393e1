package host

import (
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
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

// readBatch is how many packets one system call may read.
const readBatch = 32

// readLoop reads packets, many per system call (recvmmsg), until the
// listener is closed.
func (s *statsdServer) readLoop() {
	msgs := make([]ipv4.Message, readBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 65536)}
	}
	type batchReader interface {
		ReadBatch([]ipv4.Message, int) (int, error)
	}
	var pc batchReader = ipv4.NewPacketConn(s.conn)
	if a, ok := s.conn.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		pc = ipv6.NewPacketConn(s.conn)
	}
	for {
		n, err := pc.ReadBatch(msgs, 0)
		if err != nil {
			if s.readErr(err) {
				return
			}
			continue
		}
		s.handleBatch(msgs[:n])
	}
}

// handleBatch applies the packets of one batch under one lock.
func (s *statsdServer) handleBatch(msgs []ipv4.Message) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	for i := range msgs {
		s.handleLocked(msgs[i].Buffers[0][:msgs[i].N])
	}
}
