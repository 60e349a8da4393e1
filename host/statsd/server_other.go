//go:build !linux

package statsd

import (
	"errors"
	"net"
)

// setReadBuffer asks for a receive buffer of size bytes and returns the
// size asked for (the granted size is not known on this system).
func setReadBuffer(conn *net.UDPConn, size int) int {
	if conn.SetReadBuffer(size) != nil {
		return 0
	}
	return size
}

// reportKernelDrops: this system does not report its drops per socket.
func reportKernelDrops(*net.UDPConn) error {
	return errors.New("SO_RXQ_OVFL is Linux only")
}

// readLoop reads packets until the listener is closed.
func (s *Server) readLoop() {
	buf := make([]byte, 65536)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if s.readErr(err) {
				return
			}
			continue
		}
		s.handle(buf[:n])
	}
}
