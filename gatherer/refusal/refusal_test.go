package refusal

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/testbin"
)

// TestRefusalsSummarised: a flood of refusals is logged once per kind and
// interval: the first at once, the rest as one summary line.
func TestRefusalsSummarised(t *testing.T) {
	t.Parallel()
	var buf testbin.Buffer
	r := NewTally(hclog.New(&hclog.LoggerOptions{Output: &buf}), 0)
	r.interval = 200 * time.Millisecond
	for i := range 1000 {
		r.Add(Stalled, "192.0.2.1:"+string(rune('0'+i%10)), "", "handshake not done", 1)
		r.Add(Secret, "192.0.2.2:1", "", "wrong secret", 1)
	}
	r.Flush(false) // too early: nothing more
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines before the interval ended, want 2 (one per kind):\n%s", n, buf.String())
	}
	time.Sleep(250 * time.Millisecond)
	r.Flush(false)
	logs := buf.String()
	if n := strings.Count(logs, "\n"); n != 4 {
		t.Fatalf("%d lines, want 4:\n%s", n, logs)
	}
	if !strings.Contains(logs, "refused peers (summary): kind=handshake_timeout count=999 sources=1 top_sources=\"192.0.2.1 (999)\"") {
		t.Errorf("no summary of the stalled handshakes:\n%s", logs)
	}
	if c := r.Counts(); c[Stalled] != 1000 || c[Secret] != 1000 {
		t.Errorf("counts %v", c)
	}
}
