package report

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/statsherd/statsherd/sdk/stat"
)

// DefaultAddr is where a statsherd host listens for statsd lines unless its
// configuration says otherwise.
const DefaultAddr = "127.0.0.1:8125"

// MaxPacket is the largest packet a Client sends: it fits any common MTU, so
// the lines also reach a statsd server on another machine unfragmented.
const MaxPacket = 1432

// FlushInterval is how long a line waits in a Client's buffer at most.
const FlushInterval = 100 * time.Millisecond

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("report: client is closed")

// Client sends counts and gauges to a statsherd host (or any statsd
// server). It is safe for concurrent use.
type Client struct {
	conn net.Conn

	mu      sync.Mutex
	buf     []byte
	timer   *time.Timer // pending flush of buf, nil if none
	closed  bool
	err     error // a failed background flush, returned by the next call
	dropped int64
}

// Dial returns a Client sending to the statsd listener at addr ("host:port";
// "" means DefaultAddr). UDP has no connection: Dial succeeds whether or not
// a host listens, and lines sent while none does are dropped.
func Dial(addr string) (*Client, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("report: dialing statsd listener %s: %w", addr, err)
	}
	return &Client{conn: conn, buf: make([]byte, 0, MaxPacket)}, nil
}

// Count adds delta to the counter name (Tahoe's stats_provider.count). A
// counter only goes up: a negative delta is an error.
func (c *Client) Count(name string, delta int64) error {
	if err := stat.ValidName(name); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if delta < 0 {
		return fmt.Errorf("report: counter %s: delta %d is negative; counters only go up (use Gauge for a value that goes down)", name, delta)
	}
	var line [stat.MaxNameLen + 32]byte
	b := append(line[:0], name...)
	b = append(b, ':')
	b = strconv.AppendInt(b, delta, 10)
	b = append(b, "|c\n"...)
	return c.add(b)
}

// Gauge sets the stat name to v. NaN and infinities are sent as nothing: a
// gauge cannot hold them.
func (c *Client) Gauge(name string, v float64) error {
	if err := stat.ValidName(name); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, ok := stat.Float(v).Float64(); !ok {
		return fmt.Errorf("report: gauge %s: %v is not a finite number", name, v)
	}
	var line [2*stat.MaxNameLen + 64]byte
	b := line[:0]
	if v < 0 {
		// In statsd a signed gauge value is a change, not a value: set
		// zero first, then subtract, in the same packet.
		b = append(b, name...)
		b = append(b, ":0|g\n"...)
	}
	b = append(b, name...)
	b = append(b, ':')
	// Whole numbers go out without a fraction, so the host keeps them as
	// integers (a byte count stays 76828823863, not 76828823863.0).
	b = stat.AppendFloat(b, v)
	b = append(b, "|g\n"...)
	return c.add(b)
}

// add appends one or more whole lines to the buffer, sending the buffer
// first if they would not fit.
func (c *Client) add(lines []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	err := c.err
	c.err = nil
	if len(c.buf)+len(lines) > MaxPacket {
		if ferr := c.flushLocked(); ferr != nil {
			err = ferr
		}
	}
	c.buf = append(c.buf, lines...)
	if c.timer == nil {
		c.timer = time.AfterFunc(FlushInterval, c.timedFlush)
	}
	return err
}

func (c *Client) timedFlush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = nil
	if err := c.flushLocked(); err != nil {
		c.err = err
	}
}

// Flush sends the lines buffered so far.
func (c *Client) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	err := c.flushLocked()
	if err == nil {
		err, c.err = c.err, nil
	}
	return err
}

func (c *Client) flushLocked() error {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.dropped++
		if errors.Is(err, syscall.ECONNREFUSED) {
			// Nobody listens (the host is down or restarting): lines
			// are dropped, as statsd's are.
			return nil
		}
		return fmt.Errorf("report: sending statsd lines: %w", err)
	}
	return nil
}

// Dropped is the number of packets that could not be sent, most often
// because no host was listening.
func (c *Client) Dropped() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Close sends what is buffered and closes the client.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	err := c.flushLocked()
	c.closed = true
	if cerr := c.conn.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("report: closing: %w", cerr)
	}
	return err
}
