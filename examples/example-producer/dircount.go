package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "dir_count"

type config struct {
	Dir     string `json:"dir"`
	Pattern string `json:"pattern"`
	Prefix  string `json:"prefix"`
}

type producer struct {
	log hclog.Logger
	cfg config
}

// New returns the dir_count producer.
func New(log hclog.Logger) sdk.Producer { return &producer{log: log} }

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Version:     "1.0.0",
		Description: "Counts the regular files in a directory matching a pattern, their bytes and their lines.",
		Stats: []sdk.StatInfo{
			{Name: "PREFIX.files", Kind: sdk.Stat, Unit: "files", Description: "regular files in dir matching pattern"},
			{Name: "PREFIX.bytes", Kind: sdk.Stat, Unit: "bytes", Description: "their total size"},
			{Name: "PREFIX.lines", Kind: sdk.Stat, Unit: "lines", Description: "newlines in them"},
		},
		Config: sdk.Schema{
			{Name: "dir", Type: sdk.String, Required: true, Description: "the directory to count (not recursively)"},
			{Name: "pattern", Type: sdk.String, Default: "*", Description: "a shell pattern file names must match"},
			{Name: "prefix", Type: sdk.String, Default: "dir", Description: "the first part of the stat names"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	p.cfg = config{Pattern: "*", Prefix: "dir"}
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	if p.cfg.Dir == "" {
		return errors.New("dir_count: dir is required")
	}
	if _, err := filepath.Match(p.cfg.Pattern, ""); err != nil {
		return fmt.Errorf("dir_count: pattern %q: %w", p.cfg.Pattern, err)
	}
	if err := sdk.ValidName(p.cfg.Prefix + ".files"); err != nil {
		return fmt.Errorf("dir_count: prefix: %w", err)
	}
	return nil
}

// Check is Configure's dry run: Configure only decodes and checks, so the
// dry run is Configure on a scratch producer.
func (p *producer) Check(ctx context.Context, cfg sdk.Config) error {
	return (&producer{}).Configure(ctx, cfg)
}

func (p *producer) Collect(ctx context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	entries, err := os.ReadDir(p.cfg.Dir)
	if err != nil {
		return st, fmt.Errorf("reading %s: %w", p.cfg.Dir, err)
	}
	var files, size, lines int64
	var errs []error
	for _, e := range entries {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if ok, _ := filepath.Match(p.cfg.Pattern, e.Name()); !ok || !e.Type().IsRegular() {
			continue
		}
		n, l, err := countFile(filepath.Join(p.cfg.Dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the directory was listed
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files++
		size += n
		lines += l
	}
	st.Stats[p.cfg.Prefix+".files"] = sdk.Int(files)
	st.Stats[p.cfg.Prefix+".bytes"] = sdk.Int(size)
	st.Stats[p.cfg.Prefix+".lines"] = sdk.Int(lines)
	return st, errors.Join(errs...)
}

// countFile returns the size of a file and the newlines in it.
func countFile(path string) (size, lines int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := f.Read(buf)
		size += int64(n)
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			return size, lines, nil
		}
		if err != nil {
			return size, lines, fmt.Errorf("reading %s: %w", path, err)
		}
	}
}

func (p *producer) Close(context.Context) error { return nil }

var _ sdk.Producer = (*producer)(nil)
