package host_test

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// TestE2ESeveralGatherers: a host with two gatherer blocks, one a real
// gatherer and one a black hole that accepts connections and never
// answers. The real gatherer gets the host's answer round after round
// while the other link hangs in its handshake.
func TestE2ESeveralGatherers(t *testing.T) {
	t.Parallel()
	rg := startGatherer(t, "300ms", "250ms")
	furlFile := rg.furl

	// The black hole: accepts, reads nothing, answers nothing.
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	var accepted atomic.Int64
	var held []net.Conn
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			held = append(held, c)
		}
	}()
	holeFurl := "pb://cccccccccccccccccccccccccccccccccccccccccccccccccccc@" + hole.Addr().String() + "/dddddddddddddddddddddddddddddddd"

	d := startDaemon(t, `
nickname     = "twice"
poll_timeout = "200ms"
gatherer {
  furl        = "`+holeFurl+`"
  min_backoff = "100ms"
  max_backoff = "200ms"
}
gatherer {
  furl_file   = "`+furlFile+`"
  min_backoff = "100ms"
  max_backoff = "200ms"
}
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
`)
	st := d.pollUntil("connected to the real gatherer", func(st sdk.Stats) bool {
		return st.Stats["statsherd.link.1.connected"] == sdk.Int(1)
	})
	if st.Stats["statsherd.link.configured"] != sdk.Int(2) || st.Stats["statsherd.link.connected"] != sdk.Int(1) ||
		st.Stats["statsherd.link.0.connected"] != sdk.Int(0) {
		t.Errorf("link stats %v: want 2 configured, the second connected", st.Stats)
	}

	// Five rounds of the real gatherer in a row carry the host.
	seen := map[float64]bool{}
	for i := 0; len(seen) < 5; i++ {
		if i > 600 {
			t.Fatalf("the real gatherer's snapshot had the host in %d rounds only:\n%s\n%s", len(seen), rg.log.String(), d.stderr)
		}
		var snap map[string]struct {
			Nickname  string  `json:"nickname"`
			Timestamp float64 `json:"timestamp"`
		}
		if b, err := os.ReadFile(rg.snapshot); err == nil && json.Unmarshal(b, &snap) == nil {
			for _, e := range snap {
				if e.Nickname == "twice" {
					seen[e.Timestamp] = true
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if accepted.Load() == 0 {
		t.Error("the host never dialled the black hole: the test proves nothing")
	}
	if !strings.Contains(d.stderr.String(), holeFurl[:40]) {
		t.Errorf("the logs do not name the gatherer that is away:\n%s", d.stderr)
	}
}
