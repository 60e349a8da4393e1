package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "jsonl"

type config struct {
	Path string `json:"path"`
}

// line is one round as written: one JSON object per line.
type line struct {
	Time  float64 `json:"time"` // Unix seconds
	Nodes []node  `json:"nodes"`
}

type node struct {
	ID        string    `json:"id"`
	Nickname  string    `json:"nickname"`
	Timestamp float64   `json:"timestamp"`
	Stats     sdk.Stats `json:"stats"`
}

type output struct {
	log hclog.Logger
	cfg config
	f   *os.File
}

// New returns the jsonl output.
func New(log hclog.Logger) sdk.Output { return &output{log: log} }

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Appends every poll round to a file as one line of JSON.",
		Config: sdk.Schema{
			{Name: "path", Type: sdk.String, Required: true, Description: "the file to append to; created if missing"},
		},
	}, nil
}

// Check is Configure's dry run: the block decodes, path is set, and its
// directory exists (the file is not opened: a dry run writes nothing).
func (o *output) Check(_ context.Context, cfg sdk.Config) error {
	var c config
	if err := cfg.Decode(&c); err != nil {
		return err
	}
	if c.Path == "" {
		return errors.New("jsonl: path is required")
	}
	if fi, err := os.Stat(filepath.Dir(c.Path)); err != nil || !fi.IsDir() {
		return fmt.Errorf("jsonl: opening %s: the directory %s does not exist", c.Path, filepath.Dir(c.Path))
	}
	return nil
}

func (o *output) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&o.cfg); err != nil {
		return err
	}
	if o.cfg.Path == "" {
		return errors.New("jsonl: path is required")
	}
	f, err := os.OpenFile(o.cfg.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("jsonl: opening %s: %w", o.cfg.Path, err)
	}
	o.f = f
	return nil
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// encodeRound is the line written for one round, newline included.
func encodeRound(r sdk.Round) ([]byte, error) {
	l := line{Time: unix(r.Time), Nodes: make([]node, 0, len(r.Nodes))}
	for _, n := range r.Nodes {
		l.Nodes = append(l.Nodes, node{ID: n.ID, Nickname: n.Nickname, Timestamp: unix(n.Timestamp), Stats: n.Stats})
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("encoding round: %w", err)
	}
	return append(b, '\n'), nil
}

func (o *output) Write(_ context.Context, r sdk.Round) error {
	b, err := encodeRound(r)
	if err != nil {
		return err
	}
	// One write call per line: with O_APPEND, lines never interleave.
	if _, err := o.f.Write(b); err != nil {
		return fmt.Errorf("appending to %s: %w", o.cfg.Path, err)
	}
	return nil
}

func (o *output) Close(context.Context) error {
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	return err
}

var _ sdk.Output = (*output)(nil)
