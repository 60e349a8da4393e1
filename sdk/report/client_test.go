package report

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// listen returns a UDP listener on loopback and a function reading every
// packet received until quiet for a while.
func listen(t *testing.T) (string, func() string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	read := func() string {
		var out bytes.Buffer
		buf := make([]byte, 65536)
		for {
			pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return out.String()
			}
			if n > MaxPacket {
				t.Errorf("packet of %d bytes, more than MaxPacket", n)
			}
			out.Write(buf[:n])
		}
	}
	return pc.LocalAddr().String(), read
}

func TestClientLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send func(c *Client) error
		want string
	}{
		{"count", func(c *Client) error { return c.Count("storage_server.allocate", 3) }, "storage_server.allocate:3|c\n"},
		{"gauge", func(c *Client) error { return c.Gauge("load.avg", 0.25) }, "load.avg:0.25|g\n"},
		{"integral gauge stays an integer", func(c *Client) error { return c.Gauge("disk.free", 1e12) }, "disk.free:1000000000000|g\n"},
		{"negative gauge is set to zero first", func(c *Client) error { return c.Gauge("temp", -4.5) }, "temp:0|g\ntemp:-4.5|g\n"},
		{"several lines", func(c *Client) error {
			if err := c.Count("a", 1); err != nil {
				return err
			}
			return c.Count("b", 2)
		}, "a:1|c\nb:2|c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, read := listen(t)
			c, err := Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.send(c); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if got := read(); got != tt.want {
				t.Errorf("sent %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClientRefusesBadInput(t *testing.T) {
	t.Parallel()
	addr, _ := listen(t)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name string
		err  error
	}{
		{"bad name", c.Count("a b", 1)},
		{"empty name", c.Count("", 1)},
		{"negative delta", c.Count("a", -1)},
		{"NaN", c.Gauge("x", nan())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Error("no error")
			} else if !strings.HasPrefix(tt.err.Error(), "report: ") {
				t.Errorf("error %q does not say where it comes from", tt.err)
			}
		})
	}
}

func nan() float64 { var z float64; return z / z }

func TestClientBatchesAndFlushesByItself(t *testing.T) {
	t.Parallel()
	addr, read := listen(t)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 1000
	for i := 0; i < n; i++ {
		if err := c.Count("requests.total", 1); err != nil {
			t.Fatal(err)
		}
	}
	// No Flush: the timer sends the tail of the batch.
	got := read()
	if lines := strings.Count(got, "requests.total:1|c\n"); lines != n {
		t.Errorf("received %d lines, want %d", lines, n)
	}
}

func TestClientClosed(t *testing.T) {
	t.Parallel()
	addr, _ := listen(t)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Count("a", 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Count after Close: %v, want ErrClosed", err)
	}
}

func TestClientWithoutListener(t *testing.T) {
	t.Parallel()
	// Find a port nobody listens on: listen, note it, close.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := c.Count("a", 1); err != nil {
			t.Fatalf("Count with no listener: %v", err)
		}
		if err := c.Flush(); err != nil {
			t.Fatalf("Flush with no listener: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close with no listener: %v", err)
	}
}
