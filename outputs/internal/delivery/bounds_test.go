package delivery

import (
	"strings"
	"testing"
	"time"
)

func TestBoundsCheck(t *testing.T) {
	if err := DefaultBounds("q").Check(); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	for _, tc := range []struct {
		name string
		set  func(*Bounds)
		want string
	}{
		{"no dir", func(b *Bounds) { b.Dir = "" }, "dir"},
		{"tiny queue", func(b *Bounds) { b.QueueMaxBytes = 1 << 19 }, "queue_max_bytes"},
		{"no age", func(b *Bounds) { b.QueueMaxAge = 0 }, "queue_max_age"},
		{"no concurrency", func(b *Bounds) { b.Concurrency = 0 }, "concurrency"},
		{"too much concurrency", func(b *Bounds) { b.Concurrency = 257 }, "concurrency"},
		{"no timeout", func(b *Bounds) { b.Timeout = 0 }, "request_timeout"},
		{"backoffs crossed", func(b *Bounds) { b.MinBackoff, b.MaxBackoff = time.Second, time.Millisecond }, "max_backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := DefaultBounds("q")
			tc.set(&b)
			if err := b.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	// The schema names every attribute Bounds decodes, with its default.
	names := map[string]bool{}
	for _, a := range BoundsSchema("q", "request") {
		names[a.Name] = true
	}
	for _, n := range []string{"dir", "queue_max_bytes", "queue_max_age", "concurrency", "request_timeout", "min_backoff", "max_backoff"} {
		if !names[n] {
			t.Errorf("BoundsSchema lacks %s", n)
		}
	}
}
