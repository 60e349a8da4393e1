package influxdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/outputs/internal/delivery"
	"github.com/statsherd/statsherd/outputs/internal/queue"
)

// writer posts batches to InfluxDB's write endpoint.
type writer struct {
	client *http.Client
	url    string // the write URL with its query
	target string // the write URL without secrets, for the logs
	auth   string
	gzip   bool
}

// newWriter builds the write URL and the Authorization header; secrets
// are read from files and never logged.
func newWriter(c settings) (*writer, error) {
	w := &writer{gzip: c.Gzip}
	base := strings.TrimRight(c.URL, "/")
	q := url.Values{"precision": {"ms"}}
	if c.Bucket != "" {
		q.Set("org", c.Org)
		q.Set("bucket", c.Bucket)
		w.url = base + "/api/v2/write?" + q.Encode()
		if c.TokenFile != "" {
			tok, err := delivery.ReadSecret(c.TokenFile, "token_file")
			if err != nil {
				return nil, err
			}
			w.auth = "Token " + tok
		}
	} else {
		q.Set("db", c.Database)
		if c.RetentionPolicy != "" {
			q.Set("rp", c.RetentionPolicy)
		}
		w.url = base + "/write?" + q.Encode()
		if c.Username != "" {
			pw := ""
			if c.PasswordFile != "" {
				var err error
				if pw, err = delivery.ReadSecret(c.PasswordFile, "password_file"); err != nil {
					return nil, err
				}
			}
			req := http.Request{Header: http.Header{}}
			req.SetBasicAuth(c.Username, pw)
			w.auth = req.Header.Get("Authorization")
		}
	}
	w.target = w.url
	tc, err := c.TLS.Config()
	if err != nil {
		return nil, err
	}
	if tc != nil && !strings.HasPrefix(c.URL, "https://") {
		return nil, fmt.Errorf("tls_* options are set but url %q is not https", c.URL)
	}
	w.client = delivery.HTTPClient(tc, int(c.Concurrency), c.Timeout)
	return w, nil
}

// post sends one batch: nil once InfluxDB took it (204); for the answers
// that mean never — 400 (a line it cannot parse, a field whose type
// conflicts with the stored one, points outside the retention policy),
// 404 (no such database or bucket), 413 (too large), 422 (2.x: outside
// the bucket's retention) — a delivery.Rejected with InfluxDB's message;
// any other answer or error is retried.
func (w *writer) post(ctx context.Context, e queue.Entry) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(e.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if w.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("User-Agent", "statsherd/"+version.String())
	if w.auth != "" {
		req.Header.Set("Authorization", w.auth)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := message(b)
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return &delivery.Rejected{Status: resp.StatusCode, Msg: msg}
	}
	var wait time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		wait = time.Duration(secs) * time.Second
	}
	return &delivery.RetryAfter{Wait: wait, Err: fmt.Errorf("influxdb answered %d: %s", resp.StatusCode, msg)}
}

// message is InfluxDB's error message out of its answer: 1.x's
// {"error": "…"}, 2.x's {"code": "…", "message": "…"}, or the text.
func message(b []byte) string {
	var m struct{ Error, Code, Message string }
	if json.Unmarshal(b, &m) == nil {
		switch {
		case m.Error != "":
			return m.Error
		case m.Message != "":
			return strings.TrimSpace(m.Code + ": " + m.Message)
		}
	}
	return strings.TrimSpace(string(b))
}
