package admission

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer/refusal"
)

func TestHandshakeBudget(t *testing.T) {
	t.Parallel()
	h := NewHandshakes(4, 2)
	h.rand = func() float64 { return 1 } // no early refusal here
	known := func(src string) bool { return src == "192.0.2.9" }
	var got []string
	for _, src := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.9", "192.0.2.9"} {
		ok, kind := h.Acquire(src, known)
		if ok {
			kind = "ok"
		}
		got = append(got, kind)
	}
	want := "ok ok too_many_handshakes_from_address ok ok too_many_handshakes ok too_many_handshakes"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	h.Release("192.0.2.1")
	if ok, _ := h.Acquire("192.0.2.1", nil); ok {
		t.Error("a slot freed over the budget (reserve in use) was handed out")
	}
	if refusal.SourceOf("[2001:db8::1]:5") != refusal.SourceOf("[2001:db8::2]:6") || refusal.SourceOf("192.0.2.1:5") != "192.0.2.1" {
		t.Error("sourceOf does not group an IPv6 /64")
	}
}

// TestHandshakeEarlyRefusalAndPenalty (issue 25, item 6): past half the
// budget new connections are refused at random, more as it fills, and a
// source whose handshakes fail is held off, doubling; known sources are
// exempt from both.
func TestHandshakeEarlyRefusalAndPenalty(t *testing.T) {
	t.Parallel()
	h := NewHandshakes(10, 10)
	draw := 0.5
	h.rand = func() float64 { return draw }
	now := time.Unix(1e9, 0)
	h.now = func() time.Time { return now }
	known := func(src string) bool { return src == "192.0.2.9" }
	var got []string
	for i := range 10 {
		ok, kind := h.Acquire(fmt.Sprintf("192.0.2.%d", 100+i), known)
		if ok {
			kind = "ok"
		}
		got = append(got, kind)
	}
	// Refused at random from 5 (30 %), more as it fills: 0.5 < p from
	// n = 7 on (p = 0.3 + 0.7·2/5 = 0.58).
	want := "ok ok ok ok ok ok ok too_many_handshakes too_many_handshakes too_many_handshakes"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if ok, _ := h.Acquire("192.0.2.9", known); !ok {
		t.Error("a known source was refused early")
	}
	src := "198.51.100.1"
	h.Penalize(src, refusal.Stalled, known) // the budget is contested (9 of 10)
	if ok, kind := h.Acquire(src, known); ok || kind != refusal.Penalty {
		t.Errorf("penalized source: %v %s", ok, kind)
	}
	now = now.Add(penaltyBase + time.Millisecond)
	draw = 1
	if ok, kind := h.Acquire(src, known); ok || kind != refusal.Penalty {
		t.Errorf("a source that failed took a slot past half the budget: %v %s", ok, kind)
	}
	for i := range 4 {
		h.Release(fmt.Sprintf("192.0.2.%d", 100+i))
	}
	if ok, _ := h.Acquire(src, known); !ok {
		t.Error("source still held off after its penalty, under half the budget")
	}
	h.Penalize(src, refusal.Stalled, known)
	now = now.Add(penaltyBase + time.Millisecond)
	if ok, _ := h.Acquire(src, known); ok {
		t.Error("a second failure was not held off twice as long")
	}
	h.Penalize("192.0.2.9", refusal.Stalled, known)
	h.Penalize("203.0.113.1", refusal.Pending, known)
	if len(h.pen) != 1 {
		t.Errorf("%d sources penalized; a known source and a pending node are not", len(h.pen))
	}
}
