// Package wire is the protocol between a host and the gatherer: framed
// protobuf messages (wire.proto) over the TLS connection the host opens.
//
// A frame is a 4-byte big-endian length followed by that many bytes of one
// encoded Message. The length is checked against a bound before anything
// is allocated, so a peer cannot make the other side allocate more than
// the bound, and an empty or undecodable frame is an error.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Versions of this protocol (see Hello in wire.proto): a Hello always
// says Protocol, and the highest version its sender speaks, MaxProtocol.
const (
	// Protocol is the version before labels, which every Hello says.
	Protocol = 1
	// ProtocolLabels adds labels to the stats of an Answer.
	ProtocolLabels = 2
	// MaxProtocol is the highest version this side speaks.
	MaxProtocol = ProtocolLabels
)

// Negotiate returns the version a gatherer speaks with the host that sent
// hello: the lower of both sides' highest.
func Negotiate(hello *Hello) uint32 {
	return min(max(hello.GetMaxProtocol(), hello.GetProtocol()), MaxProtocol)
}

// Default bounds of one message.
const (
	// MaxHandshakeSize bounds Hello, Welcome and Refuse.
	MaxHandshakeSize = 64 << 10
	// DefaultMaxMessageSize bounds an Answer: ample for a host with
	// 100,000 stats.
	DefaultMaxMessageSize = 16 << 20
)

// ErrTooLarge is returned (wrapped) for a frame larger than the bound.
var ErrTooLarge = errors.New("message too large")

// Conn reads and writes framed messages. Reads and writes may happen
// concurrently with each other, but not with themselves.
type Conn struct {
	nc    net.Conn
	max   int
	chunk int
	wbuf  []byte
	rbuf  []byte
}

// NewConn wraps nc; messages larger than maxSize bytes are refused when
// read (0 means DefaultMaxMessageSize).
func NewConn(nc net.Conn, maxSize int) *Conn {
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	// No read buffer of its own: a tls.Conn buffers a whole record, and
	// thousands of idle connections should hold as little as possible.
	return &Conn{nc: nc, max: maxSize}
}

// NetConn is the underlying connection (for deadlines and Close).
func (c *Conn) NetConn() net.Conn { return c.nc }

// SetMaxSize changes the bound on messages read.
func (c *Conn) SetMaxSize(n int) { c.max = n }

// Send writes one message.
func (c *Conn) Send(m *Message) error {
	b, err := AppendFrame(c.wbuf[:0], m)
	if err != nil {
		return err
	}
	if cap(b) <= 1<<10 {
		c.wbuf = b
	}
	for len(b) > 0 {
		n := len(b)
		if c.chunk > 0 {
			n = min(n, c.chunk)
		}
		if _, err := c.nc.Write(b[:n]); err != nil {
			return fmt.Errorf("sending %s: %w", Kind(m), err)
		}
		b = b[n:]
	}
	return nil
}

// SetWriteChunk makes Send write a message in pieces of at most n bytes
// (0: whole). Over TLS each piece is a record of its own, so the peer's
// record buffer, which keeps the size of the largest record it read,
// stays that small.
func (c *Conn) SetWriteChunk(n int) { c.chunk = n }

// Recv reads one message.
func (c *Conn) Recv() (*Message, error) {
	b, err := c.RecvFrame()
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// RecvFrame reads one frame's payload without decoding it (Decode does).
// The payload is valid until the next RecvFrame.
func (c *Conn) RecvFrame() ([]byte, error) { return c.RecvFrameIf(nil) }

// RecvFrameIf is RecvFrame, but first calls accept (if not nil) with the
// frame's length, once its header is read: an error from accept is
// returned before the payload is read, so that a message nobody asked
// for is refused unread.
func (c *Conn) RecvFrameIf(accept func(size int) error) ([]byte, error) {
	b, err := readFrame(c.nc, c.max, c.rbuf, accept)
	if err != nil {
		return nil, err
	}
	// Keep a small buffer for the next message; a large one (an answer)
	// is left to the garbage collector rather than held per connection.
	if cap(b) <= 1<<10 {
		c.rbuf = b
	}
	return b, nil
}

// RecvFrameInto is RecvFrameIf, reading into buf if it is large enough,
// and keeping no buffer: for a caller that recycles its buffers itself.
func (c *Conn) RecvFrameInto(buf []byte, accept func(size int) error) ([]byte, error) {
	return readFrame(c.nc, c.max, buf, accept)
}

// AppendFrame appends the frame of m to b.
func AppendFrame(b []byte, m *Message) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b, err := proto.MarshalOptions{}.MarshalAppend(b, m)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", Kind(m), err)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b, nil
}

// AppendAnswerFrame appends the frame of an Answer with id whose stats are
// already encoded (a proto.Stats), for a peer that sends the same stats
// many times without encoding them again (the load tool's attackers).
func AppendAnswerFrame(b []byte, id uint64, stats []byte) []byte {
	var a []byte
	a = protowire.AppendTag(a, 1, protowire.VarintType) // Answer.id
	a = protowire.AppendVarint(a, id)
	a = protowire.AppendTag(a, 2, protowire.BytesType) // Answer.stats
	a = protowire.AppendBytes(a, stats)
	var m []byte
	m = protowire.AppendTag(m, 5, protowire.BytesType) // Message.answer
	m = protowire.AppendBytes(m, a)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
	return append(b, m...)
}

// ReadFrame reads one frame's payload, at most maxSize bytes, reusing buf
// if it is large enough.
func ReadFrame(r io.Reader, maxSize int, buf []byte) ([]byte, error) {
	return readFrame(r, maxSize, buf, nil)
}

func readFrame(r io.Reader, maxSize int, buf []byte, accept func(int) error) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading message length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return nil, errors.New("empty message")
	}
	if accept != nil {
		if err := accept(int(n)); err != nil {
			return nil, err
		}
	}
	if uint64(n) > uint64(maxSize) {
		return nil, fmt.Errorf("message of %d bytes, limit %d: %w", n, maxSize, ErrTooLarge)
	}
	if cap(buf) >= int(n) {
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("reading message of %d bytes: %w", n, err)
		}
		return buf, nil
	}
	return readGrowing(r, int(n), buf[:0])
}

// growStep is the first buffer of a frame read by readGrowing, and the
// least it grows by.
const growStep = 64 << 10

// readGrowing reads a payload of n bytes into buf (whose capacity is
// less than n), growing it only as bytes arrive: at most twice what was
// received, and never more than n. A peer that announces a large frame
// and then sends it slowly, or never, so holds memory for what it sent,
// not for what it announced (as Prometheus reads a scrape body as a
// stream under body_size_limit).
func readGrowing(r io.Reader, n int, buf []byte) ([]byte, error) {
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(n, max(2*cap(buf), growStep)))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading message of %d bytes (%d received): %w", n, len(buf), err)
		}
	}
	return buf, nil
}

// Decode decodes one frame's payload. A message with no body is an error.
func Decode(b []byte) (*Message, error) {
	m := &Message{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decoding message: %w", err)
	}
	if m.Body == nil {
		return nil, errors.New("message of unknown kind")
	}
	return m, nil
}

// Kind names the kind of m, for logs and errors.
func Kind(m *Message) string {
	switch m.GetBody().(type) {
	case *Message_Hello:
		return "hello"
	case *Message_Welcome:
		return "welcome"
	case *Message_Refuse:
		return "refuse"
	case *Message_Poll:
		return "poll"
	case *Message_Answer:
		return "answer"
	}
	return "unknown message"
}

// Constructors of each kind of message.

// NewHello is a host's hello.
func NewHello(secret, nickname string, versions map[string]string) *Message {
	return &Message{Body: &Message_Hello{Hello: &Hello{Protocol: Protocol, MaxProtocol: MaxProtocol, Secret: secret, Nickname: nickname, Versions: versions}}}
}

// NewWelcome accepts a host, to speak version protocol (Negotiate).
func NewWelcome(nodeID string, pollIntervalMS int64, protocol uint32) *Message {
	return &Message{Body: &Message_Welcome{Welcome: &Welcome{Protocol: protocol, NodeId: nodeID, PollIntervalMs: pollIntervalMS}}}
}

// NewRefuse refuses a host.
func NewRefuse(reason string) *Message {
	return &Message{Body: &Message_Refuse{Refuse: &Refuse{Reason: reason}}}
}

// NewPoll asks for stats.
func NewPoll(id uint64, timeoutMS int64) *Message {
	return &Message{Body: &Message_Poll{Poll: &Poll{Id: id, TimeoutMs: timeoutMS}}}
}

// NewAnswer answers a poll.
func NewAnswer(a *Answer) *Message {
	return &Message{Body: &Message_Answer{Answer: a}}
}

// SmallRecord is the piece size a host writes in once welcomed
// (Conn.SetWriteChunk). Go's TLS grows its records to 16 KB after a
// connection's first writes, and the gatherer's record buffer, kept per
// connection, grows to the largest record it read (4 KB after an answer
// of 100 stats). Records of at most 1,000 bytes fit the buffer its
// handshake left (2 KB): 2 KB less per idle host connection, measured
// with the gatherer's BenchmarkIdleConnections; 1,200 bytes and more grow
// it to 3 KB. The cost is a record header (22 bytes) and a write per
// piece.
const SmallRecord = 1000
