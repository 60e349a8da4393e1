//go:build unix

package wire

import (
	"io"
	"net"
	"testing"
)

// TestWaitReadable: bytes left in the socket by an earlier read count as
// readable (no new readiness event comes for them), so does the peer's
// end of file, and a closed connection is an error.
func TestWaitReadable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := NewConn(server, 0)
	if _, err := client.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReadable(); err != nil {
		t.Fatalf("bytes sent: %v", err)
	}
	var b [1]byte
	if _, err := io.ReadFull(server, b[:]); err != nil || b[0] != 'a' {
		t.Fatalf("read %q, %v", b[:], err)
	}
	// "b" is still in the socket: readable at once, and not consumed.
	if err := c.WaitReadable(); err != nil {
		t.Fatalf("byte left in the socket: %v", err)
	}
	if _, err := io.ReadFull(server, b[:]); err != nil || b[0] != 'b' {
		t.Fatalf("read %q, %v: WaitReadable consumed a byte", b[:], err)
	}
	client.Close()
	if err := c.WaitReadable(); err != nil {
		t.Fatalf("peer closed: want readable (end of file), got %v", err)
	}
	if _, err := server.Read(b[:]); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want EOF", err)
	}
	server.Close()
	if err := c.WaitReadable(); err == nil {
		t.Fatal("closed connection: no error")
	}
}
