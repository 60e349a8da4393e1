package remote_write

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/outputs/internal/delivery"
	"github.com/statsherd/statsherd/outputs/internal/queue"
)

// poster sends records to the receiver; delivery's sender retries them.
type poster struct {
	client *http.Client
	url    string
	auth   string
}

// post sends one record: nil once the receiver took it, delivery.Rejected
// for a 4xx other than 429 (it would be refused again), another error
// (with the Retry-After asked for, if any) to be retried.
func (s *poster) post(ctx context.Context, e queue.Entry) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(e.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "statsherd/"+version.String())
	if s.auth != "" {
		req.Header.Set("Authorization", s.auth)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	var wait time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		wait = time.Duration(secs) * time.Second
	}
	msg := strings.TrimSpace(string(b))
	if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests {
		return &delivery.Rejected{Status: resp.StatusCode, Msg: msg}
	}
	return &delivery.RetryAfter{Wait: wait, Err: fmt.Errorf("receiver answered %d: %s", resp.StatusCode, msg)}
}
