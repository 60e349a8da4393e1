package statsd

import (
	"runtime"
	"testing"
	"time"
)

// TestProcsListenerBacklogRaises floods a real listener's socket before it
// reads: its first read batch comes back full, and GOMAXPROCS goes up.
func TestProcsListenerBacklogRaises(t *testing.T) {
	keepProcs(t)
	procs = newProcs(3, 300*time.Millisecond)
	s, conn := listenDial(t, NewStore(1000, time.Hour))
	for range 4 * readBatch {
		if _, err := conn.Write([]byte("flood:1|c")); err != nil {
			t.Fatal(err)
		}
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS before the listener reads = %d, want 1", got)
	}
	go s.Serve()
	waitProcs(t, 3, "a backlog on the socket")
	waitProcs(t, 1, "quiet after the backlog")
}
