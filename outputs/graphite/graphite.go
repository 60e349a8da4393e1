// Package graphite is the graphite output: it sends every round to
// carbon (carbon-cache, carbon-relay, go-carbon, …) in carbon's plaintext
// protocol over TCP (optionally TLS), one line per value, each stamped
// with its round's time. Rounds go first to the durable queue shared by
// the outputs (package delivery), so a carbon that is away, or a gatherer
// restart, loses nothing within the queue's bounds.
package graphite

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/outputs/internal/delivery"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "graphite"

// Defaults of the output's attributes.
const (
	DefaultDir        = "graphite"
	DefaultLabels     = "tags"
	DefaultBatchLines = 5000
)

type settings struct {
	Address    string  `json:"address"`
	Template   string  `json:"template"`
	Labels     string  `json:"labels"`
	UseTLS     bool    `json:"tls"`
	BatchLines float64 `json:"batch_lines"`
	delivery.Bounds
	delivery.TLS
}

var schema = slices.Concat(sdk.Schema{
	{Name: "address", Type: sdk.String, Required: true, Description: "carbon's plaintext receiver, host:port, e.g. carbon.example:2003"},
	{Name: "template", Type: sdk.String, Default: DefaultTemplate, Description: "series name: text and dots around {nickname}, {node} and {name}"},
	{Name: "labels", Type: sdk.String, Default: DefaultLabels, Description: "a stat's labels as Graphite 1.1 tags (\"tags\": name;k=v) or folded into the path (\"path\": name.v)"},
	{Name: "tls", Type: sdk.Bool, Default: false, Description: "speak TLS to address (carbon behind a TLS terminator)"},
	{Name: "batch_lines", Type: sdk.Number, Default: DefaultBatchLines, Description: "lines per connection at most"},
}, delivery.BoundsSchema(DefaultDir, "connection"), delivery.TLSSchema("receiver"))

type output struct {
	log hclog.Logger
	delivery.Queued
}

// New returns the graphite output. It does nothing until Configure.
func New(log hclog.Logger) sdk.Output {
	return &output{log: log, Queued: delivery.Queued{Now: time.Now}}
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     version.String(),
		Description: "sends every round to carbon (Graphite's plaintext protocol) through a durable on-disk queue",
		Stats:       delivery.StatInfo,
		Config:      schema,
	}, nil
}

// Configure checks the settings, opens the queue (recovering what an
// earlier run left in it) and starts sending.
func (o *output) Configure(_ context.Context, raw sdk.Config) error {
	if o.Pipe != nil {
		return errors.New("configured twice")
	}
	cfg := settings{Template: DefaultTemplate, Labels: DefaultLabels, BatchLines: DefaultBatchLines, Bounds: delivery.DefaultBounds(DefaultDir)}
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	tmpl, err := cfg.check()
	if err != nil {
		return err
	}
	c := &carbon{address: cfg.Address, timeout: cfg.Timeout}
	if cfg.UseTLS {
		if c.tls, err = cfg.TLS.Config(); err != nil {
			return err
		}
		if c.tls == nil {
			c.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	pipe, dir, err := cfg.Bounds.Start(cfg.Address, c.post, o.log, o.Now)
	if err != nil {
		return err
	}
	o.Pipe = pipe
	o.Encode = newEncoder(tmpl, int(cfg.BatchLines)).encode
	o.log.Info("sending rounds", "address", cfg.Address, "tls", cfg.UseTLS, "template", cfg.Template, "queue", dir)
	return nil
}

// check validates the settings; the messages name the attribute.
func (c *settings) check() (*template, error) {
	if _, _, err := net.SplitHostPort(c.Address); err != nil || c.Address == "" {
		return nil, fmt.Errorf("address %q is not host:port of carbon's plaintext receiver, e.g. \"carbon.example:2003\"", c.Address)
	}
	t, err := parseTemplate(c.Template)
	if err != nil {
		return nil, err
	}
	switch c.Labels {
	case "tags":
	case "path":
		t.labelsPath = true
	default:
		return nil, fmt.Errorf("labels %q is neither \"tags\" (Graphite 1.1 tags, name;key=value) nor \"path\" (values folded into the path)", c.Labels)
	}
	if c.TLS.Set() && !c.UseTLS {
		return nil, errors.New("tls_* options are set but tls = false: set tls = true to speak TLS to carbon")
	}
	if err := c.Bounds.Check(); err != nil {
		return nil, err
	}
	if c.BatchLines < 1 || c.BatchLines > 1e6 {
		return nil, fmt.Errorf("batch_lines %v is not between 1 and 1000000", c.BatchLines)
	}
	return t, nil
}

var (
	_ sdk.Output        = (*output)(nil)
	_ sdk.NodeWriter    = (*output)(nil)
	_ sdk.StatsReporter = (*output)(nil)
)
