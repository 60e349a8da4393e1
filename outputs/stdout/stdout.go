// Package stdout is the stdout output (Tahoe's StdOutStatsGatherer): it
// prints every node of every round as
//
//	"NICKNAME" [NODE ID]:
//	{
//	  "counters": {...},
//	  "stats": {...}
//	}
//
// to the gatherer's standard output, or appends it to a file.
package stdout

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the output's name in HCL.
const Name = "stdout"

// Config is the output's HCL block.
type Config struct {
	// Path is a file to append to; "" means the gatherer's standard output.
	Path string `json:"path"`
}

var schema = sdk.Schema{
	{Name: "path", Type: sdk.String, Default: "",
		Description: "file to append each round to; empty means the gatherer's standard output"},
}

type output struct {
	log hclog.Logger
	// open opens the destination; tests replace it.
	open func(path string) (io.WriteCloser, error)
	w    io.WriteCloser
	buf  *bufio.Writer
}

// New returns the stdout output. It does nothing until Configure.
func New(log hclog.Logger) sdk.Output {
	return &output{log: log, open: openDest}
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     version.String(),
		Description: "prints each node's stats every round, as Tahoe's StdOutStatsGatherer did",
		Config:      schema,
	}, nil
}

// Check is Configure's dry run: the block decodes, and a path's directory
// exists (the file itself is not opened: a dry run writes nothing).
func (o *output) Check(_ context.Context, raw sdk.Config) error {
	var cfg Config
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	return checkFileDir(cfg.Path, "opening output file")
}

// checkFileDir fails as opening path for appending would for want of its
// directory; "" (standard output) is fine.
func checkFileDir(path, what string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %s is not a directory", what, dir)
	}
	return nil
}

func (o *output) Configure(_ context.Context, raw sdk.Config) error {
	var cfg Config
	if err := raw.Decode(&cfg); err != nil {
		return err
	}
	w, err := o.open(cfg.Path)
	if err != nil {
		return err
	}
	if o.w != nil {
		o.buf.Flush()
		o.w.Close()
	}
	o.w, o.buf = w, bufio.NewWriterSize(w, 64<<10)
	return nil
}

// openDest opens path for appending, or the gatherer's stdout.
func openDest(path string) (io.WriteCloser, error) {
	if path == "" {
		// The plugin's standard output, which the gatherer's plugin
		// runtime forwards to its own (supervisor.Options.Stdout).
		return nopCloser{os.Stdout}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening output file: %w", err)
	}
	return f, nil
}

// Write prints each node of the round, sorted by nickname and id.
func (o *output) Write(ctx context.Context, round sdk.Round) error {
	if o.buf == nil {
		return errors.New("write before configure")
	}
	nodes := make([]sdk.NodeSample, len(round.Nodes))
	copy(nodes, round.Nodes)
	sort.Slice(nodes, func(i, j int) bool {
		if nodes[i].Nickname != nodes[j].Nickname {
			return nodes[i].Nickname < nodes[j].Nickname
		}
		return nodes[i].ID < nodes[j].ID
	})
	if err := format(o.buf, nodes); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := o.buf.Flush(); err != nil {
		return fmt.Errorf("writing: %w", err)
	}
	return nil
}

// format writes nodes as Tahoe's StdOutStatsGatherer printed them.
func format(w io.Writer, nodes []sdk.NodeSample) error {
	for _, n := range nodes {
		b, err := json.MarshalIndent(n.Stats, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding node %s: %w", n.ID, err)
		}
		if _, err := fmt.Fprintf(w, "%q [%s]:\n%s\n", n.Nickname, n.ID, b); err != nil {
			return fmt.Errorf("writing: %w", err)
		}
	}
	return nil
}

func (o *output) Close(context.Context) error {
	if o.w == nil {
		return nil
	}
	err := o.buf.Flush()
	if cerr := o.w.Close(); err == nil {
		err = cerr
	}
	o.w, o.buf = nil, nil
	if err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return nil
}

var _ sdk.Output = (*output)(nil)

// nopCloser keeps Close from closing the process's standard output.
type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
