package statsd

import (
	"runtime"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// The listener's packet buffers (readBatch of 64 KiB) are not on the Go
// heap: there they were 2 MiB of live heap from start-up, and the heap's
// goal (twice the live heap) grew by as much again. Not parallel: it
// reads the heap of the whole test binary.
func TestStatsdBuffersOffHeap(t *testing.T) {
	live := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	s, conn := listenDial(t, NewStore(10, time.Hour))
	go s.Serve()
	// A packet read proves the read loop has its buffers.
	for i := 0; ; i++ {
		conn.Write([]byte("a:1|c"))
		st := sdk.NewStats()
		s.store.addTo(st, false)
		if st.Counters["a"] > 0 {
			break
		}
		if i > 200 {
			t.Fatal("no packet read")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := live()
	if grew := int64(after) - int64(before); grew > readBatch*packetSize/4 {
		t.Errorf("the heap grew by %d bytes with a listener: its %d buffers of %d bytes are on the heap", grew, readBatch, packetSize)
	}
}
