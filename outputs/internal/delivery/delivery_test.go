package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/statsherd/statsherd/outputs/internal/queue"
)

// TestPipe: rounds are posted in order, a round's records before the
// next round's; a failure is retried, a *Rejected is not; the stats add
// up; what was not delivered at Close is posted again after a reopen.
func TestPipe(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var mu sync.Mutex
	var posted []string
	fails := map[string]int{"r1-0": 2}
	base := time.Now().UnixMilli()
	post := func(ctx context.Context, e queue.Entry) error {
		id := fmt.Sprintf("r%d-%d", e.Round-base, e.Index)
		mu.Lock()
		defer mu.Unlock()
		if fails[id] > 0 {
			fails[id]--
			return errors.New("receiver away")
		}
		posted = append(posted, id)
		if id == "r2-1" {
			return &Rejected{Status: 400, Msg: "bad"}
		}
		return nil
	}
	opt := Options{Queue: queue.Options{Dir: dir}, Concurrency: 2, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Post: post}
	p, err := Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	for r := int64(1); r <= 3; r++ {
		recs := []queue.Record{{Round: base + r, Samples: 10, Body: []byte("a")}, {Round: base + r, Samples: 5, Body: []byte("bb")}}
		for i := range recs {
			recs[i].Index, recs[i].Count = uint32(i), 2
		}
		if err := p.Append(recs, 15); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); p.Stats().Counters["sent_samples"]+p.Stats().Counters["rejected_samples"] < 45; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %v", p.Stats())
		}
	}
	st := p.Stats()
	want := map[string]int64{"queued_samples": 45, "sent_samples": 40, "sent_requests": 5, "sent_bytes": 7,
		"retries": 2, "rejected_samples": 5, "rejected_requests": 1, "dropped_samples": 0}
	for k, v := range want {
		if st.Counters[k] != v {
			t.Errorf("%s = %d, want %d (%v)", k, st.Counters[k], v, st)
		}
	}
	mu.Lock()
	// Within a round the records go out concurrently; rounds in order.
	for i, id := range posted {
		if round := id[:2]; i >= 2 && posted[i-2][:2] > round {
			t.Errorf("posted out of round order: %v", posted)
		}
	}
	mu.Unlock()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Reopened: everything was acknowledged, nothing is posted again.
	posted = nil
	p, err = Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	p.Close(context.Background())
	if len(posted) != 0 {
		t.Errorf("posted again after reopen: %v", posted)
	}
}
