package statsd

import (
	"github.com/hashicorp/go-hclog"

	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

func TestStatsdListenerAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			s, err := Listen(t.Context(), addr, NewStore(10, time.Hour), hclog.NewNullLogger())
			if err != nil {
				if addr == "[::1]:0" {
					t.Skipf("no IPv6 loopback here: %v", err)
				}
				t.Fatal(err)
			}
			go s.Serve()
			defer s.Close()
			conn, err := net.Dial("udp", s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte("a:1|c\na:2|c"))
			conn.Write([]byte("g:7|g"))
			for i := 0; ; i++ {
				st := sdk.NewStats()
				s.store.addTo(st, true)
				if st.Counters["a"] == 3 && st.Stats["g"] == sdk.Int(7) {
					break
				}
				if i > 200 {
					t.Fatalf("received %v", st)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// udpDrops is the kernel's count of packets dropped on the UDP socket
// bound to port on 127.0.0.1, from /proc/net/udp.
func udpDrops(t *testing.T, port int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		t.Skipf("no /proc/net/udp: %v", err)
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 13 && f[1] == want {
			n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				t.Fatalf("drops in %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("no socket %s in /proc/net/udp", want)
	return 0
}

// A flood that overflows the socket buffer: the kernel drops the listener
// reports equal the kernel's own count.
// listenDial is a listener on a free loopback port with store, not yet
// serving, and a UDP connection to it; both are closed when the test ends
// (start Serve before then).
func listenDial(t *testing.T, store *Store) (*Server, net.Conn) {
	t.Helper()
	s, err := Listen(t.Context(), "127.0.0.1:0", store, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn
}

func TestStatsdKernelDrops(t *testing.T) {
	t.Parallel()
	s, conn := listenDial(t, NewStore(10, time.Hour))
	if !s.kernelDrops {
		t.Fatal("the kernel does not report drops on this socket")
	}
	setReadBuffer(s.conn, 8192)
	go s.Serve()
	// While the listener cannot apply what it reads, the queue fills.
	s.store.mu.Lock()
	for range 5000 {
		conn.Write([]byte("flood:1|c"))
	}
	s.store.mu.Unlock()
	port := s.conn.LocalAddr().(*net.UDPAddr).Port
	if udpDrops(t, port) == 0 {
		t.Fatal("the flood did not overflow the socket buffer")
	}
	// The count rides on the next packet read: send probes until one
	// passes the queue the listener is draining.
	probes := int64(0)
	var own sdk.Stats
	for i := 0; ; i++ {
		if i%10 == 0 {
			conn.Write([]byte("probe:1|c"))
			probes++
		}
		st := sdk.NewStats()
		s.store.addTo(st, false)
		if st.Counters["probe"] >= 1 {
			own = sdk.NewStats()
			s.AddTo(own)
			break
		}
		if i > 1000 {
			t.Fatalf("no probe arrived: %v", st.Counters)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Probes still queued would each carry the count again; wait until
	// all have arrived or are counted dropped, then compare.
	kernel := udpDrops(t, port)
	for i := 0; ; i++ {
		own = sdk.NewStats()
		s.AddTo(own)
		if own.Counters["statsherd.statsd.lines"]+kernel == 5000+probes || i > 500 {
			break
		}
		time.Sleep(10 * time.Millisecond)
		kernel = udpDrops(t, port)
	}
	if got := own.Counters["statsherd.statsd.dropped.kernel"]; got != kernel {
		t.Errorf("statsherd.statsd.dropped.kernel = %d, the kernel counted %d", got, kernel)
	}
	if got, want := own.Counters["statsherd.statsd.lines"], 5000+probes-kernel; got != want {
		t.Errorf("lines received %d, want %d (%d sent, %d dropped by the kernel)", got, want, 5000+probes, kernel)
	}
}

// Over real UDP: a burst of names to the cap, then idle past the expiry:
// a new name is counted.
func TestStatsdNamesExpireOverUDP(t *testing.T) {
	t.Parallel()
	s, conn := listenDial(t, NewStore(50, 300*time.Millisecond))
	go s.Serve()
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, "burst.n%d:1|c\n", i)
	}
	conn.Write([]byte(b.String()))
	conn.Write([]byte("refused:1|c"))
	waitOwn(t, s, "the refusal", func(own sdk.Stats) bool {
		return own.Counters["statsherd.statsd.dropped.too_many_names"] == 1
	})
	time.Sleep(time.Second) // idle past the expiry
	conn.Write([]byte("fresh:1|c"))
	waitOwn(t, s, "the new name counted", func(own sdk.Stats) bool {
		st := sdk.NewStats()
		s.store.addTo(st, false)
		return st.Counters["fresh"] == 1
	})
}

func waitOwn(t *testing.T, s *Server, what string, ok func(sdk.Stats) bool) {
	t.Helper()
	for i := 0; ; i++ {
		own := sdk.NewStats()
		s.AddTo(own)
		if ok(own) {
			return
		}
		if i > 500 {
			t.Fatalf("never saw %s: %v", what, own.Counters)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
