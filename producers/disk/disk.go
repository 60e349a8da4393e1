// Package disk reports the space of the file system holding a storage
// server's shares, as Tahoe-LAFS's storage server did: total, used, free
// for root and for others, what is available after the reserved space, and
// whether the server still accepts immutable shares.
package disk

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "disk"

// fsStats is what the file system says of itself, in bytes.
type fsStats struct {
	Total          uint64 // size of the file system
	FreeForRoot    uint64 // free blocks
	FreeForNonroot uint64 // free blocks an unprivileged user may use
}

type config struct {
	Path          string `json:"path"`
	ReservedSpace int64  `json:"reserved_space"`
	Readonly      bool   `json:"readonly"`
}

type producer struct {
	log hclog.Logger
	// statfs reads the file system holding a path; tests replace it.
	statfs func(path string) (fsStats, error)
	cfg    config
}

// New returns the disk producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, statfs: statfs}
}

var stats = []sdk.StatInfo{
	{Name: "storage_server.disk_total", Kind: sdk.Stat, Unit: "bytes", Description: "size of the file system holding path"},
	{Name: "storage_server.disk_used", Kind: sdk.Stat, Unit: "bytes", Description: "total minus free_for_root"},
	{Name: "storage_server.disk_free_for_root", Kind: sdk.Stat, Unit: "bytes", Description: "free space, including the blocks reserved for root"},
	{Name: "storage_server.disk_free_for_nonroot", Kind: sdk.Stat, Unit: "bytes", Description: "free space an unprivileged process may use"},
	{Name: "storage_server.disk_avail", Kind: sdk.Stat, Unit: "bytes", Description: "free_for_nonroot minus reserved_space, at least 0; 0 when readonly"},
	{Name: "storage_server.reserved_space", Kind: sdk.Stat, Unit: "bytes", Description: "the configured reserved_space"},
	{Name: "storage_server.accepting_immutable_shares", Kind: sdk.Stat, Unit: "boolean", Description: "1 when disk_avail > 0 and not readonly, else 0"},
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "Space of the file system holding a storage server's shares (Tahoe's storage_server.disk_* stats).",
		Stats:       stats,
		Config: sdk.Schema{
			{Name: "path", Type: sdk.String, Required: true, Description: "a directory on the file system to measure, such as the storage server's share directory"},
			{Name: "reserved_space", Type: sdk.Number, Default: 0, Description: "bytes to keep free: disk_avail is what is left after them"},
			{Name: "readonly", Type: sdk.Bool, Default: false, Description: "the storage server is read-only: disk_avail and accepting_immutable_shares are 0"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	if p.cfg.Path == "" {
		return fmt.Errorf("disk: path is required: name a directory on the file system to measure")
	}
	if p.cfg.ReservedSpace < 0 {
		return fmt.Errorf("disk: reserved_space is %d: it must be 0 or more bytes", p.cfg.ReservedSpace)
	}
	return nil
}

// Check is Configure's dry run: Configure only decodes and checks, so the
// dry run is Configure on a scratch producer.
func (p *producer) Check(ctx context.Context, cfg sdk.Config) error {
	return (&producer{}).Configure(ctx, cfg)
}

// diskStats computes Tahoe's storage_server stats from the file system's
// figures (fileutil.get_disk_stats and StorageServer.get_stats).
func diskStats(fs fsStats, reserved int64, readonly bool) map[string]sdk.Value {
	used := int64(fs.Total) - int64(fs.FreeForRoot)
	avail := max(int64(fs.FreeForNonroot)-reserved, 0)
	if readonly {
		avail = 0
	}
	accepting := int64(0)
	if avail > 0 {
		accepting = 1
	}
	return map[string]sdk.Value{
		"storage_server.disk_total":                 sdk.Int(int64(fs.Total)),
		"storage_server.disk_used":                  sdk.Int(used),
		"storage_server.disk_free_for_root":         sdk.Int(int64(fs.FreeForRoot)),
		"storage_server.disk_free_for_nonroot":      sdk.Int(int64(fs.FreeForNonroot)),
		"storage_server.disk_avail":                 sdk.Int(avail),
		"storage_server.reserved_space":             sdk.Int(reserved),
		"storage_server.accepting_immutable_shares": sdk.Int(accepting),
	}
}

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	fs, err := p.statfs(p.cfg.Path)
	if err != nil {
		// As Tahoe: when the file system cannot be read, the server is
		// not accepting shares; the space figures are unknown.
		st.Stats["storage_server.reserved_space"] = sdk.Int(p.cfg.ReservedSpace)
		st.Stats["storage_server.accepting_immutable_shares"] = sdk.Int(0)
		return st, fmt.Errorf("reading disk space of %s: %w", p.cfg.Path, err)
	}
	st.Stats = diskStats(fs, p.cfg.ReservedSpace, p.cfg.Readonly)
	return st, nil
}

func (p *producer) Close(context.Context) error { return nil }

var _ sdk.Producer = (*producer)(nil)
