package statsd

import (
	"encoding/binary"
	"net"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
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

// reportKernelDrops asks the kernel to attach to every packet read its
// count of packets dropped on the socket (SO_RXQ_OVFL): those it could not
// queue because the receive buffer was full.
func reportKernelDrops(conn *net.UDPConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	}); err != nil {
		return err
	}
	return serr
}

// readBatch is how many packets one system call may read.
const readBatch = 32

// oobSize holds one SO_RXQ_OVFL control message (a uint32).
var oobSize = unix.CmsgSpace(4)

// packetSize holds the largest UDP payload.
const packetSize = 65536

// readBuffers maps the n packet buffers of a batch outside the Go heap: a
// private anonymous mapping, whose pages the kernel backs only once a
// packet is written into them. On the heap the 2 MiB of a batch were live
// memory from start-up, so the collector let the host's heap grow by as
// much again before it collected (its goal is twice the live heap); an
// idle host (no statsd traffic) touches none of it, and a busy one the
// pages its packets fill, as before. free unmaps them.
func readBuffers(n int) (bufs [][]byte, free func(), err error) {
	mem, err := unix.Mmap(-1, 0, n*packetSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, nil, err
	}
	bufs = make([][]byte, n)
	for i := range bufs {
		bufs[i] = mem[i*packetSize : (i+1)*packetSize : (i+1)*packetSize]
	}
	return bufs, func() { _ = unix.Munmap(mem) }, nil
}

// readLoop reads packets, many per system call (recvmmsg), until the
// listener is closed.
func (s *Server) readLoop() {
	bufs, free, err := readBuffers(readBatch)
	if err != nil {
		// No mapping (a limit on the address space): on the heap.
		s.log.Debug("statsd buffers on the heap", "error", err)
		bufs, free = make([][]byte, readBatch), func() {}
		for i := range bufs {
			bufs[i] = make([]byte, packetSize)
		}
	}
	defer free()
	msgs := make([]ipv4.Message, readBatch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{bufs[i]}
		msgs[i].OOB = make([]byte, oobSize)
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
		if n == len(msgs) {
			s.procs.full()
		}
		s.handleBatch(msgs[:n])
	}
}

// handleBatch applies the packets of one batch under one lock.
func (s *Server) handleBatch(msgs []ipv4.Message) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.setNow(time.Now())
	for i := range msgs {
		if msgs[i].NN > 0 {
			if n, ok := rxqOverflow(msgs[i].OOB[:msgs[i].NN]); ok {
				s.kernelDropped(n)
			}
		}
		s.handleLocked(msgs[i].Buffers[0][:msgs[i].N])
	}
}

// rxqOverflow finds the SO_RXQ_OVFL drop count in a packet's control
// messages.
func rxqOverflow(oob []byte) (uint32, bool) {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, cm := range cms {
		if cm.Header.Level == unix.SOL_SOCKET && cm.Header.Type == unix.SO_RXQ_OVFL && len(cm.Data) >= 4 {
			return binary.NativeEndian.Uint32(cm.Data), true
		}
	}
	return 0, false
}
