package delivery

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/outputs/internal/queue"
	"github.com/statsherd/statsherd/sdk"
)

// The defaults of Bounds, the same for every output on the durable queue.
const (
	DefaultConcurrency = 4
	DefaultTimeout     = 30 * time.Second
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultMaxBytes    = queue.DefaultMaxBytes
	DefaultMaxAge      = queue.DefaultMaxAge
)

// Bounds are the settings every output on the durable queue has: its
// queue's directory and bounds, and the sender's concurrency, request
// timeout and backoff. An output's settings embed it; the JSON names are
// the block's attributes (BoundsSchema).
type Bounds struct {
	Dir           string        `json:"dir"`
	QueueMaxBytes float64       `json:"queue_max_bytes"`
	QueueMaxAge   time.Duration `json:"queue_max_age"`
	Concurrency   float64       `json:"concurrency"`
	Timeout       time.Duration `json:"request_timeout"`
	MinBackoff    time.Duration `json:"min_backoff"`
	MaxBackoff    time.Duration `json:"max_backoff"`
}

// DefaultBounds are the defaults, with the queue in dir.
func DefaultBounds(dir string) Bounds {
	return Bounds{Dir: dir, QueueMaxBytes: DefaultMaxBytes, QueueMaxAge: DefaultMaxAge, Concurrency: DefaultConcurrency,
		Timeout: DefaultTimeout, MinBackoff: DefaultMinBackoff, MaxBackoff: DefaultMaxBackoff}
}

// BoundsSchema describes Bounds' attributes, with the queue in dir by
// default; a request is what the output calls one send ("request",
// "connection").
func BoundsSchema(dir, request string) sdk.Schema {
	return sdk.Schema{
		{Name: "dir", Type: sdk.String, Default: dir, Description: "directory of the durable queue; relative to the gatherer's base directory"},
		{Name: "queue_max_bytes", Type: sdk.Number, Default: DefaultMaxBytes, Description: "bound of the queue on disk, bytes; past it the oldest rounds are dropped"},
		{Name: "queue_max_age", Type: sdk.Duration, Default: DefaultMaxAge, Description: "rounds older than this are dropped instead of sent"},
		{Name: "concurrency", Type: sdk.Number, Default: DefaultConcurrency, Description: request + "s in flight at most"},
		{Name: "request_timeout", Type: sdk.Duration, Default: DefaultTimeout, Description: "bound of one " + request},
		{Name: "min_backoff", Type: sdk.Duration, Default: DefaultMinBackoff, Description: "first wait before retrying a failed " + request + "; doubles each time"},
		{Name: "max_backoff", Type: sdk.Duration, Default: DefaultMaxBackoff, Description: "longest wait between retries"},
	}
}

// Check refuses bounds that cannot work, naming the attribute.
func (b Bounds) Check() error {
	if b.Dir == "" {
		return errors.New("dir is empty: name the queue's directory, relative to the gatherer's base directory")
	}
	if b.QueueMaxBytes < 1<<20 {
		return fmt.Errorf("queue_max_bytes %v is under 1 MiB (1048576)", b.QueueMaxBytes)
	}
	if b.QueueMaxAge <= 0 {
		return fmt.Errorf("queue_max_age %s is not positive", b.QueueMaxAge)
	}
	if b.Concurrency < 1 || b.Concurrency > 256 {
		return fmt.Errorf("concurrency %v is not between 1 and 256", b.Concurrency)
	}
	if b.Timeout <= 0 || b.MinBackoff <= 0 || b.MaxBackoff < b.MinBackoff {
		return fmt.Errorf("request_timeout (%s), min_backoff (%s) and max_backoff (%s) must be positive, max_backoff at least min_backoff",
			b.Timeout, b.MinBackoff, b.MaxBackoff)
	}
	return nil
}

// Start opens the queue in Dir (relative to the working directory: the
// gatherer runs in its base directory) and starts sending it to target
// with post. It returns the pipe and the queue's absolute directory.
func (b Bounds) Start(target string, post Post, log hclog.Logger, now func() time.Time) (*Pipe, string, error) {
	dir, err := filepath.Abs(b.Dir)
	if err != nil {
		return nil, "", fmt.Errorf("dir %q: %w", b.Dir, err)
	}
	pipe, err := Start(Options{
		Queue:       queue.Options{Dir: dir, MaxBytes: int64(b.QueueMaxBytes), MaxAge: b.QueueMaxAge, Now: now},
		Concurrency: int(b.Concurrency), MinBackoff: b.MinBackoff, MaxBackoff: b.MaxBackoff,
		Target: target, Post: post, Log: log,
	})
	return pipe, dir, err
}
