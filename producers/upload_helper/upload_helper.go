// Package upload_helper reports the files a Tahoe-LAFS upload helper holds
// in its incoming and encoding directories, as the helper's own get_stats
// did: how many, their total size, and the size of those older than
// old_after (abandoned uploads).
package upload_helper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "upload_helper"

type config struct {
	IncomingDir string        `json:"incoming_dir"`
	EncodingDir string        `json:"encoding_dir"`
	OldAfter    time.Duration `json:"old_after"`
}

type producer struct {
	log hclog.Logger
	// now is the clock that file ages are measured by; tests replace it.
	now func() time.Time
	cfg config
}

// New returns the upload_helper producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, now: time.Now}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "Files in a Tahoe upload helper's CHK_incoming and CHK_encoding directories (Tahoe's chk_upload_helper.incoming_*/encoding_* stats).",
		Stats: []sdk.StatInfo{
			{Name: "chk_upload_helper.incoming_count", Kind: sdk.Stat, Unit: "files", Description: "entries in incoming_dir"},
			{Name: "chk_upload_helper.incoming_size", Kind: sdk.Stat, Unit: "bytes", Description: "total size of the entries in incoming_dir"},
			{Name: "chk_upload_helper.incoming_size_old", Kind: sdk.Stat, Unit: "bytes", Description: "size of the entries in incoming_dir not modified for old_after"},
			{Name: "chk_upload_helper.encoding_count", Kind: sdk.Stat, Unit: "files", Description: "entries in encoding_dir"},
			{Name: "chk_upload_helper.encoding_size", Kind: sdk.Stat, Unit: "bytes", Description: "total size of the entries in encoding_dir"},
			{Name: "chk_upload_helper.encoding_size_old", Kind: sdk.Stat, Unit: "bytes", Description: "size of the entries in encoding_dir not modified for old_after"},
		},
		Config: sdk.Schema{
			{Name: "incoming_dir", Type: sdk.String, Required: true, Description: "the helper's CHK_incoming directory"},
			{Name: "encoding_dir", Type: sdk.String, Required: true, Description: "the helper's CHK_encoding directory"},
			{Name: "old_after", Type: sdk.Duration, Default: 48 * time.Hour, Description: "a file not modified for longer than this counts as old"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	p.cfg = config{OldAfter: 48 * time.Hour}
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	if p.cfg.IncomingDir == "" || p.cfg.EncodingDir == "" {
		return fmt.Errorf("upload_helper: incoming_dir and encoding_dir are required: name the helper's CHK_incoming and CHK_encoding directories")
	}
	if p.cfg.OldAfter <= 0 {
		return fmt.Errorf("upload_helper: old_after is %s: it must be positive", p.cfg.OldAfter)
	}
	return nil
}

// Check is Configure's dry run: Configure only decodes and checks, so the
// dry run is Configure on a scratch producer.
func (p *producer) Check(ctx context.Context, cfg sdk.Config) error {
	return (&producer{}).Configure(ctx, cfg)
}

// dirStats sums the entries of one directory (not recursively, as Tahoe's
// helper did).
type dirStats struct {
	count, size, sizeOld int64
}

// scanDir lists dir and sums its entries; an entry is old when it was
// last modified more than oldAfter before now. An entry that vanishes
// while being listed (the helper moved it) is skipped.
func scanDir(dir string, now time.Time, oldAfter time.Duration) (dirStats, error) {
	var s dirStats
	entries, err := os.ReadDir(dir)
	if err != nil {
		return s, err
	}
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return s, err
		}
		s.count++
		s.size += fi.Size()
		if now.Sub(fi.ModTime()) > oldAfter {
			s.sizeOld += fi.Size()
		}
	}
	return s, nil
}

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	now := p.now()
	var errs []error
	for _, d := range []struct{ prefix, dir string }{
		{"chk_upload_helper.incoming", p.cfg.IncomingDir},
		{"chk_upload_helper.encoding", p.cfg.EncodingDir},
	} {
		s, err := scanDir(d.dir, now, p.cfg.OldAfter)
		if err != nil {
			errs = append(errs, fmt.Errorf("reading %s: %w", d.dir, err))
			continue
		}
		st.Stats[d.prefix+"_count"] = sdk.Int(s.count)
		st.Stats[d.prefix+"_size"] = sdk.Int(s.size)
		st.Stats[d.prefix+"_size_old"] = sdk.Int(s.sizeOld)
	}
	return st, errors.Join(errs...)
}

func (p *producer) Close(context.Context) error { return nil }

var _ sdk.Producer = (*producer)(nil)
