package remote_write_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// TestRetryAfter: an overloaded receiver's Retry-After is in seconds, and
// honoured (up to max_backoff) before the request is sent again.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		retryAfter string
		maxBackoff time.Duration
		min, max   time.Duration // the wait between the two requests
	}{
		{"429, 1 s", http.StatusTooManyRequests, "1", 10 * time.Second, time.Second, 5 * time.Second},
		{"503, 2 s", http.StatusServiceUnavailable, "2", 10 * time.Second, 2 * time.Second, 6 * time.Second},
		{"429, an hour, capped by max_backoff", http.StatusTooManyRequests, "3600", 300 * time.Millisecond, 300 * time.Millisecond, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var at []time.Time
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				at = append(at, time.Now())
				n := len(at)
				mu.Unlock()
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					http.Error(w, "overloaded", tt.status)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()
			// One record a round: one request to wait for.
			o := configure(t, t.TempDir(), map[string]any{"url": srv.URL, "min_backoff": int64(10 * time.Millisecond), "max_backoff": int64(tt.maxBackoff)})
			r := sdk.Round{Time: time.Now()}
			st := sdk.NewStats()
			st.Counters["c"] = 1
			r.Nodes = append(r.Nodes, sdk.NodeSample{ID: "aaaabbbbccccdddd", Nickname: "n", Timestamp: r.Time, Stats: st})
			if err := o.Write(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			waitStats(t, o, func(st sdk.Stats) bool { return st.Counters["sent_samples"] > 0 })
			mu.Lock()
			defer mu.Unlock()
			if len(at) != 2 {
				t.Fatalf("%d requests, want 2", len(at))
			}
			if gap := at[1].Sub(at[0]); gap < tt.min || gap > tt.max {
				t.Errorf("sent again after %v, want between %v and %v (Retry-After: %s)", gap, tt.min, tt.max, tt.retryAfter)
			}
		})
	}
}
