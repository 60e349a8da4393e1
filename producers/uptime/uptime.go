// Package uptime reports how long the node has been up, as Tahoe-LAFS's
// node.uptime did: seconds since the host started, which is when the host
// configured this producer.
package uptime

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "uptime"

type producer struct {
	log hclog.Logger
	// now is the clock; tests replace it.
	now     func() time.Time
	started time.Time
}

// New returns the uptime producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, now: time.Now}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "Seconds since the host started (Tahoe's node.uptime).",
		Stats: []sdk.StatInfo{
			{Name: "node.uptime", Kind: sdk.Stat, Unit: "seconds", Description: "time since the host started this producer"},
		},
		Config: sdk.Schema{},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	var none struct{}
	if err := cfg.Decode(&none); err != nil {
		return err
	}
	p.started = p.now()
	return nil
}

// Check is Configure's dry run: the block must be empty.
func (p *producer) Check(_ context.Context, cfg sdk.Config) error {
	var none struct{}
	return cfg.Decode(&none)
}

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	st.Stats["node.uptime"] = sdk.Float(p.now().Sub(p.started).Seconds())
	return st, nil
}

func (p *producer) Close(context.Context) error { return nil }

var _ sdk.Producer = (*producer)(nil)
