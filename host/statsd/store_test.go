package statsd

import (
	"github.com/hashicorp/go-hclog"

	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// feed applies the lines to a fresh listener's store and returns it.
func feed(t *testing.T, s *Server, lines ...string) {
	t.Helper()
	s.handle([]byte(strings.Join(lines, "\n")))
}

func newTestStatsd(maxNames int, expiry time.Duration) *Server {
	return &Server{store: NewStore(maxNames, expiry), log: hclog.NewNullLogger()}
}

func snapshot(s *Server, endWindow bool) sdk.Stats {
	st := sdk.NewStats()
	s.store.addTo(st, endWindow)
	return st
}

func TestSummaries(t *testing.T) {
	t.Parallel()
	s := newTestStatsd(100, time.Hour)
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("req.time:%d|ms", i))
	}
	lines = append(lines,
		"size:10|h|@0.5", "size:30|h|@0.5", // count 4, sum 80
		"lat:1:2:3:4|d",
		"users:alice|s", "users:bob|s", "users:alice|s",
	)
	feed(t, s, lines...)
	want := map[string]sdk.Value{
		"req.time.count": sdk.Int(100), "req.time.sum": sdk.Int(5050), "req.time.min": sdk.Int(1),
		"req.time.max": sdk.Int(100), "req.time.mean": sdk.Float(50.5), "req.time.p50": sdk.Int(50),
		"req.time.p90": sdk.Int(90), "req.time.p95": sdk.Int(95), "req.time.p99": sdk.Int(99),
		"size.count": sdk.Int(4), "size.sum": sdk.Int(80), "size.mean": sdk.Int(20), "size.min": sdk.Int(10), "size.max": sdk.Int(30),
		"lat.count": sdk.Int(4), "lat.sum": sdk.Int(10), "lat.p50": sdk.Int(2), "lat.max": sdk.Int(4),
		"users.distinct": sdk.Int(2),
	}
	// Peek twice: the same answer, the window still open.
	for _, end := range []bool{false, false, true} {
		st := snapshot(s, end)
		for k, v := range want {
			if st.Stats[k] != v {
				t.Errorf("end=%v: %s = %v, want %v", end, k, st.Stats[k], v)
			}
		}
	}
	// The window ended: the next is empty, the names stay.
	st := snapshot(s, true)
	if st.Stats["req.time.count"] != sdk.Int(0) || st.Stats["req.time.p50"] != sdk.Null || st.Stats["users.distinct"] != sdk.Int(0) {
		t.Errorf("after the window: %v", st.Stats)
	}
	feed(t, s, "req.time:7|ms")
	if st := snapshot(s, true); st.Stats["req.time.count"] != sdk.Int(1) || st.Stats["req.time.p99"] != sdk.Int(7) {
		t.Errorf("next window: %v", st.Stats)
	}
}

// Past maxReservoir samples, percentiles come from a random sample but
// count, sum, min and max stay exact.
func TestSummaryBeyondReservoir(t *testing.T) {
	t.Parallel()
	s := newTestStatsd(10, time.Hour)
	n := 3 * maxReservoir
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "x:%d|ms\n", i)
	}
	feed(t, s, b.String())
	st := snapshot(s, true)
	if st.Stats["x.count"] != sdk.Int(int64(n)) || st.Stats["x.min"] != sdk.Int(0) || st.Stats["x.max"] != sdk.Int(int64(n-1)) {
		t.Errorf("count/min/max = %v %v %v", st.Stats["x.count"], st.Stats["x.min"], st.Stats["x.max"])
	}
	p50, _ := st.Stats["x.p50"].Float64()
	if math.Abs(p50-float64(n)/2) > float64(n)/10 {
		t.Errorf("p50 = %v, want about %d", p50, n/2)
	}
	if s.store.resLeft != reservoirBudget {
		t.Errorf("reservoir budget %d after the window, want all of it back (%d)", s.store.resLeft, reservoirBudget)
	}
}

func TestTagsAndConflicts(t *testing.T) {
	t.Parallel()
	s := newTestStatsd(100, time.Hour)
	feed(t, s,
		"api.req:1|c|#env:prod,code:200",
		"api.req:2|c|#code:200,env:prod", // same tags, other order
		"api.req:5|c",
		"api.req:1|c|#path:/a/b.c,flag",
		"api.req:1|g",  // a counter already
		"api.req:1|ms", // idem
		"x:1|c|#"+strings.Repeat("t", 300),
		strings.Repeat("l", sdk.MaxNameLen)+":1|ms", // a valid name, but not NAME.count
	)
	st := snapshot(s, true)
	// Tags are labels; folded, they are the names munin always had.
	want := map[string]int64{`api.req{code="200",env="prod"}`: 3, "api.req": 5, `api.req{flag="",path="/a/b.c"}`: 1}
	folded := map[string]int64{"api.req.code_200.env_prod": 3, "api.req": 5, "api.req.flag.path__a_b_c": 1}
	for k, v := range want {
		if st.Counters[k] != v {
			t.Errorf("%s = %d, want %d (counters %v)", k, st.Counters[k], v, st.Counters)
		}
	}
	for k, v := range folded {
		if got := sdk.FoldStats(st).Counters[k]; got != v {
			t.Errorf("folded %s = %d, want %d", k, got, v)
		}
	}
	own := sdk.NewStats()
	s.AddTo(own)
	if own.Counters["statsherd.statsd.dropped.type_conflict"] != 2 || own.Counters["statsherd.statsd.dropped.invalid_name"] != 2 {
		t.Errorf("drops %v", own.Counters)
	}
}

// A burst of names to the cap, then idle past the expiry: the old names
// are forgotten and a new one is counted.
func TestNamesExpire(t *testing.T) {
	t.Parallel()
	s := newTestStatsd(100, time.Hour)
	base := time.Now()
	s.store.mu.Lock()
	s.store.setNow(base)
	for i := range 100 {
		s.handleLocked(fmt.Appendf(nil, "burst.n%d:1|c", i))
	}
	s.handleLocked([]byte("late:1|c"))
	s.store.mu.Unlock()
	own := sdk.NewStats()
	s.AddTo(own)
	if own.Counters["statsherd.statsd.dropped.too_many_names"] != 1 || own.Stats["statsherd.statsd.names"] != sdk.Int(100) {
		t.Fatalf("at the cap: %v %v", own.Counters, own.Stats)
	}
	s.store.mu.Lock()
	s.store.setNow(base.Add(time.Hour + time.Second))
	s.handleLocked([]byte("late:1|c"))
	s.store.mu.Unlock()
	st := snapshot(s, true)
	if st.Counters["late"] != 1 {
		t.Errorf("a new name after the others expired was not counted: %v", st.Counters)
	}
	own = sdk.NewStats()
	s.AddTo(own)
	if own.Counters["statsherd.statsd.expired"] != 100 || own.Stats["statsherd.statsd.names"] != sdk.Int(1) {
		t.Errorf("after expiry: %v %v", own.Counters, own.Stats)
	}
}

// Far below the name cap, a poll forgets what was idle past the expiry: a
// gauge no longer sent is not reported with its last value forever.
func TestIdleNamesExpireAtPoll(t *testing.T) {
	t.Parallel()
	s := newTestStatsd(100, time.Hour)
	now := time.Now()
	s.store.mu.Lock()
	s.store.setNow(now.Add(-time.Hour - time.Minute)) // idle since
	s.handleLocked([]byte("idle.gauge:5|g\nidle.count:3|c"))
	s.store.setNow(now)
	s.handleLocked([]byte("busy.gauge:7|g"))
	s.store.mu.Unlock()
	st := snapshot(s, true)
	if _, ok := st.Stats["idle.gauge"]; ok || st.Counters["idle.count"] != 0 || st.Stats["busy.gauge"] != sdk.Int(7) {
		t.Errorf("polled %v %v: want busy.gauge only", st.Counters, st.Stats)
	}
	own := sdk.NewStats()
	s.AddTo(own)
	if own.Counters["statsherd.statsd.expired"] != 2 || own.Stats["statsherd.statsd.names"] != sdk.Int(1) {
		t.Errorf("after the poll: %v %v, want 2 expired, 1 name", own.Counters, own.Stats)
	}
}

// Each poller with a window of its own gets every sample once, whatever
// the others do.
func TestPollerWindows(t *testing.T) {
	t.Parallel()
	s := newTestStatsd(100, time.Hour)
	poll := func(poller string) sdk.Stats {
		st := sdk.NewStats()
		s.store.AddToFor(st, poller, true)
		return st
	}
	poll("g2") // from now on, g2 has a window of its own
	feed(t, s, "t:1|ms", "u:a|s")
	if st := poll(""); st.Stats["t.count"] != sdk.Int(1) || st.Stats["u.distinct"] != sdk.Int(1) {
		t.Errorf("default poller: %v", st.Stats)
	}
	feed(t, s, "t:2|ms", "u:b|s")
	if st := poll(""); st.Stats["t.count"] != sdk.Int(1) || st.Stats["t.sum"] != sdk.Int(2) {
		t.Errorf("default poller, second window: %v", st.Stats)
	}
	if st := poll("g2"); st.Stats["t.count"] != sdk.Int(2) || st.Stats["t.sum"] != sdk.Int(3) || st.Stats["u.distinct"] != sdk.Int(2) {
		t.Errorf("g2 saw %v, want both samples", st.Stats)
	}
	if st := poll("g2"); st.Stats["t.count"] != sdk.Int(0) {
		t.Errorf("g2, next window: %v", st.Stats)
	}
	if s.store.resLeft != reservoirBudget {
		t.Errorf("reservoir budget %d after every window closed, want %d", s.store.resLeft, reservoirBudget)
	}
}
