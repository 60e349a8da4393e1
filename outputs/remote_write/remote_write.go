// Package remote_write is the remote_write output: it sends every round to
// a Prometheus remote write receiver (VictoriaMetrics, Prometheus, Mimir,
// Thanos, Cortex, …) as remote write 1.0 (snappy-compressed protobuf over
// HTTP POST), each sample stamped with its round's time. Rounds go first
// to a durable on-disk queue (package queue) under the gatherer's base
// directory and are sent from there in order, so a receiver that is away,
// or a gatherer restart, loses nothing within the queue's bounds.
package remote_write

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/outputs/internal/delivery"
	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "remote_write"

// Defaults of the output's attributes.
const (
	DefaultDir          = "remote_write"
	DefaultPrefix       = "statsherd"
	DefaultBatchSamples = 5000
)

type settings struct {
	URL                   string            `json:"url"`
	Prefix                string            `json:"prefix"`
	Labels                map[string]string `json:"labels"`
	BatchSamples          float64           `json:"batch_samples"`
	BasicAuthUser         string            `json:"basic_auth_user"`
	BasicAuthPasswordFile string            `json:"basic_auth_password_file"`
	BearerTokenFile       string            `json:"bearer_token_file"`
	delivery.Bounds
	delivery.TLS
}

var schema = slices.Concat(sdk.Schema{
	{Name: "url", Type: sdk.String, Required: true, Description: "the receiver's remote write URL, e.g. http://127.0.0.1:8428/api/v1/write"},
	{Name: "prefix", Type: sdk.String, Default: DefaultPrefix, Description: "prefix of every metric name"},
	{Name: "labels", Type: sdk.MapOfString, Default: map[string]string{}, Description: "extra labels of every series, e.g. { gatherer = \"eu-1\" }"},
	{Name: "batch_samples", Type: sdk.Number, Default: DefaultBatchSamples, Description: "samples per request at most"},
	{Name: "basic_auth_user", Type: sdk.String, Default: "", Description: "user for HTTP basic auth"},
	{Name: "basic_auth_password_file", Type: sdk.String, Default: "", Description: "file holding the basic auth password"},
	{Name: "bearer_token_file", Type: sdk.String, Default: "", Description: "file holding a bearer token"},
}, delivery.BoundsSchema(DefaultDir, "request"), delivery.TLSSchema("receiver"))

type output struct {
	log hclog.Logger
	delivery.Queued

	cfg settings
}

// New returns the remote_write output. It does nothing until Configure.
func New(log hclog.Logger) sdk.Output {
	return &output{log: log, Queued: delivery.Queued{Now: time.Now}}
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     version.String(),
		Description: "sends every round to a Prometheus remote write receiver through a durable on-disk queue",
		Stats:       delivery.StatInfo,
		Config:      schema,
	}, nil
}

// Check is Configure's dry run: the settings hold and the client can be
// made (its TLS files read); the queue is not opened (nothing is written).
func (o *output) Check(_ context.Context, raw sdk.Config) error {
	cfg := defaultSettings()
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	_, _, err := httpClient(cfg)
	return err
}

// Configure checks the settings, opens the queue (recovering what an
// earlier run left in it) and starts sending.
func (o *output) Configure(_ context.Context, raw sdk.Config) error {
	if o.Pipe != nil {
		return errors.New("configured twice")
	}
	cfg := defaultSettings()
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	client, auth, err := httpClient(cfg)
	if err != nil {
		return err
	}
	p := &poster{client: client, url: cfg.URL, auth: auth}
	pipe, dir, err := cfg.Bounds.Start(cfg.URL, p.post, o.log, o.Now)
	if err != nil {
		return err
	}
	o.cfg, o.Pipe = cfg, pipe
	o.Encode = newEncoder(cfg.Prefix, int(cfg.BatchSamples), cfg.Labels).encode
	o.log.Info("sending rounds", "url", cfg.URL, "queue", dir, "labels", len(cfg.Labels))
	return nil
}

// defaultSettings are the settings of a block that sets nothing but url.
func defaultSettings() settings {
	return settings{Prefix: DefaultPrefix, BatchSamples: DefaultBatchSamples, Bounds: delivery.DefaultBounds(DefaultDir)}
}

// check validates the settings; the messages name the attribute.
func (c *settings) check() error {
	if c.URL == "" {
		return errors.New("url is empty: name the receiver's remote write URL")
	}
	if c.Prefix != "" && !promname.ValidMetric(c.Prefix) {
		return fmt.Errorf("prefix %q is not a valid Prometheus metric name", c.Prefix)
	}
	for k := range c.Labels {
		if !promname.ValidLabel(k) {
			return fmt.Errorf("labels: %q is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", k)
		}
		if k == promname.LabelNode || k == promname.LabelNickname {
			return fmt.Errorf("labels: %q is set by statsherd on every series; choose another name", k)
		}
	}
	if err := c.Bounds.Check(); err != nil {
		return err
	}
	if c.BatchSamples < 1 || c.BatchSamples > 1e6 {
		return fmt.Errorf("batch_samples %v is not between 1 and 1000000", c.BatchSamples)
	}
	c.Labels = maps.Clone(c.Labels)
	return nil
}

var (
	_ sdk.Output        = (*output)(nil)
	_ sdk.NodeWriter    = (*output)(nil)
	_ sdk.StatsReporter = (*output)(nil)
)
