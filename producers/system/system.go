// Package system measures the machine, as node_exporter and collectd do:
// CPU time by mode, load, memory and swap, network per interface, disk I/O
// per device, file systems per mount, context switches, forks, processes
// running and blocked, and the boot time. It reads /proc through
// github.com/prometheus/procfs and asks statfs(2) of each mount.
//
// The machine-wide figures have flat dotted names (system.load.1min,
// system.net.receive_bytes); each CPU, interface, disk and mount point is
// a labelled series named after node_exporter's (system.cpu.time_ms{cpu,
// mode}, system.network.receive_bytes{device},
// system.disk.read_bytes{device}, system.filesystem.avail_bytes{mountpoint}).
package system

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "system"

// DefaultExcludeFSTypes are the pseudo and read-only image file systems
// left out of system.filesystem.*, as node_exporter's filesystem collector leaves
// them out (its default list, plus tmpfs and ramfs, which hold no data an
// operator runs out of space on).
var DefaultExcludeFSTypes = []string{
	"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs",
	"devpts", "devtmpfs", "efivarfs", "erofs", "fuse.gvfsd-fuse", "fuse.portal", "fusectl", "hugetlbfs", "iso9660",
	"mqueue", "nsfs", "overlay", "proc", "procfs", "pstore", "ramfs", "rpc_pipefs",
	"securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs",
}

// DefaultExcludeMounts are mount points left out with everything under them.
var DefaultExcludeMounts = []string{"/dev", "/proc", "/sys", "/run/credentials", "/var/lib/docker", "/var/lib/containers", "/snap"}

// DefaultExcludeNetDevices are interfaces left out of the totals (not out
// of the per-interface stats).
var DefaultExcludeNetDevices = []string{"lo"}

type config struct {
	ExcludeFSTypes []string `json:"exclude_fs_types"`
	ExcludeMounts  []string `json:"exclude_mounts"`
	// DiskPartitions keeps partitions (sda1, nvme0n1p1) in system.disk.*.
	DiskPartitions bool   `json:"disk_partitions"`
	ProcPath       string `json:"proc_path"`
	SysPath        string `json:"sys_path"`
}

type producer struct {
	log hclog.Logger
	cfg config
	// statfs asks the kernel about a mounted file system; tests replace it.
	statfs func(path string) (fsStats, error)

	mu  sync.Mutex
	src source
	// busyMu guards busy, which statfs calls clear as they return, even
	// after their collect.
	busyMu sync.Mutex
	// busy holds the mounts whose statfs has not returned (a hung network
	// file system): they are not asked again until it does.
	busy map[string]bool
}

// fsStats is what statfs says of a file system, in bytes and inodes.
type fsStats struct {
	Size, Free, Avail uint64
	Files, FilesFree  uint64
	ReadOnly          bool
}

// New returns the system producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, statfs: statfs, busy: map[string]bool{}}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "The machine: CPU by mode, load, memory, swap, network, disk I/O, file systems, context switches, forks, processes, boot time (from /proc, through prometheus/procfs).",
		Stats:       statInfo(),
		Config: sdk.Schema{
			{Name: "exclude_fs_types", Type: sdk.ListOfString, Default: DefaultExcludeFSTypes, Description: "file system types left out of system.filesystem.*"},
			{Name: "exclude_mounts", Type: sdk.ListOfString, Default: DefaultExcludeMounts, Description: "mount points left out of system.filesystem.*, with every mount under them"},
			{Name: "disk_partitions", Type: sdk.Bool, Default: false, Description: "also report partitions (sda1, nvme0n1p1) in system.disk.*, not only whole disks"},
			{Name: "proc_path", Type: sdk.String, Default: "/proc", Description: "where procfs is mounted (a container with the host's /proc elsewhere)"},
			{Name: "sys_path", Type: sdk.String, Default: "/sys", Description: "where sysfs is mounted"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	// Copies: decoding a list writes into the slice it is given.
	p.cfg = config{ExcludeFSTypes: slices.Clone(DefaultExcludeFSTypes), ExcludeMounts: slices.Clone(DefaultExcludeMounts), ProcPath: "/proc", SysPath: "/sys"}
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	for _, m := range p.cfg.ExcludeMounts {
		if !strings.HasPrefix(m, "/") {
			return fmt.Errorf("system: exclude_mounts: %q is not an absolute path", m)
		}
	}
	src, err := newSource(p.cfg.ProcPath, p.cfg.SysPath)
	if err != nil {
		return fmt.Errorf("system: %w", err)
	}
	p.src = src
	return nil
}

// Check is Configure's dry run: Configure decodes, checks and opens the
// proc and sys file systems for reading (nothing is written), so the dry
// run is Configure on a scratch producer.
func (p *producer) Check(ctx context.Context, cfg sdk.Config) error {
	return (&producer{busy: map[string]bool{}}).Configure(ctx, cfg)
}

// excludedMount says whether mount point m is one of the excluded ones or
// under one.
func excludedMount(m string, excluded []string) bool {
	for _, e := range excluded {
		e = strings.TrimSuffix(e, "/")
		if m == e || strings.HasPrefix(m, e+"/") || e == "" {
			return true
		}
	}
	return false
}

func (p *producer) Close(context.Context) error { return nil }

// joinErrs joins the errors of one collect into one, in a stable order.
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

var _ sdk.Producer = (*producer)(nil)
