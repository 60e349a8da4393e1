package tahoe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/statsherd/statsherd/sdk"
)

// requestDeadline leaves a tenth of the collect's time (at least 50 ms) to
// answer in, so that a slow node is reported by this producer as slow,
// never taken by the host for a hung plugin.
func requestDeadline(ctx context.Context, now time.Time) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return now.Add(defaultTimeout)
	}
	left := d.Sub(now)
	return now.Add(left - max(left/10, 50*time.Millisecond))
}

// fetch asks the node once (no retries: the next collect is the retry)
// and decodes its answer. Its errors name the URL and say what was wrong
// in words that stay the same while the state does, since the host logs
// a producer's error each time it changes.
func (p *producer) fetch(ctx context.Context, u string) (sdk.Stats, error) {
	rctx, cancel := context.WithDeadline(ctx, requestDeadline(ctx, time.Now()))
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return sdk.Stats{}, fmt.Errorf("tahoe node at %s: %v", u, err)
	}
	req.Header.Set("Accept", "application/json, text/plain")
	resp, err := p.client.Do(req)
	if err != nil {
		return sdk.Stats{}, fmt.Errorf("tahoe node at %s: %s", u, netError(err, rctx))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is kept
		return sdk.Stats{}, fmt.Errorf("tahoe node at %s answered %s, not its statistics (is this a Tahoe node's web port?)", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return sdk.Stats{}, fmt.Errorf("tahoe node at %s: reading the answer: %s", u, netError(err, rctx))
	}
	if len(body) > MaxBody {
		return sdk.Stats{}, fmt.Errorf("tahoe node at %s: the answer is larger than %d bytes; not reading it", u, MaxBody)
	}
	st, err := parseStatistics(body)
	if err != nil {
		// st holds what could be read when only some names were bad.
		return st, fmt.Errorf("tahoe node at %s: %w", u, err)
	}
	return st, nil
}

// netError says what went wrong on the wire without the parts that change
// from one try to the next (the local port), and never wraps a context
// error, which the host would take for its own deadline.
func netError(err error, ctx context.Context) string {
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return "no answer before the collect's deadline"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		switch op.Op {
		case "dial":
			return "cannot connect: " + op.Err.Error() + " (is the node running, and is this its web port?)"
		default:
			return op.Op + ": " + op.Err.Error()
		}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the connection closed before a whole answer"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}
