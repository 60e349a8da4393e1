package host

import (
	"net"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

func TestStatsdListenerAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(addr, func(t *testing.T) {
			s, err := listenStatsd(t.Context(), addr, newStore(10), nullLog())
			if err != nil {
				if addr == "[::1]:0" {
					t.Skipf("no IPv6 loopback here: %v", err)
				}
				t.Fatal(err)
			}
			go s.serve()
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
				s.store.addTo(st)
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
