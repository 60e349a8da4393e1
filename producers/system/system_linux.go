package system

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// statfsWait bounds how long a collect waits for the file systems; a
// mount that has not answered by then (a hung network file system) is
// reported and not asked again until its call returns.
const statfsWait = time.Second

// source reads the kernel's figures.
type source struct {
	proc    procfs.FS
	block   blockdevice.FS
	sysPath string
}

func newSource(procPath, sysPath string) (source, error) {
	pfs, err := procfs.NewFS(procPath)
	if err != nil {
		return source{}, fmt.Errorf("proc_path: %w", err)
	}
	bfs, err := blockdevice.NewFS(procPath, sysPath)
	if err != nil {
		return source{}, fmt.Errorf("sys_path: %w", err)
	}
	return source{proc: pfs, block: bfs, sysPath: sysPath}, nil
}

// ms turns procfs's seconds (ticks / USER_HZ) back into whole milliseconds.
func ms(sec float64) int64 { return int64(math.Round(sec * 1000)) }

func clamp(u uint64) int64 {
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

func (p *producer) Collect(ctx context.Context) (sdk.Stats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := sdk.NewStats()
	var errs []error
	for _, f := range []func(sdk.Stats) error{p.kernel, p.load, p.memory, p.network, p.disks} {
		if err := f(st); err != nil {
			errs = append(errs, err)
		}
	}
	if err := p.filesystems(ctx, st); err != nil {
		errs = append(errs, err)
	}
	return st, joinErrs(errs)
}

// kernel reads /proc/stat: CPU time by mode, context switches, forks,
// processes, boot time.
func (p *producer) kernel(st sdk.Stats) error {
	s, err := p.src.proc.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(p.cfg.ProcPath, "stat"), err)
	}
	c := s.CPUTotal
	for i, v := range cpuTimes(c) {
		st.Counters["system.cpu."+cpuModes[i]+"_ms"] = ms(v)
	}
	for n, c := range s.CPU {
		cpu := strconv.FormatInt(n, 10)
		for i, v := range cpuTimes(c) {
			st.Counters[sdk.MustSeries("system.cpu.time_ms", sdk.L("cpu", cpu), sdk.L("mode", cpuModes[i]))] = ms(v)
		}
	}
	st.Stats["system.cpu.count"] = sdk.Int(int64(len(s.CPU)))
	st.Counters["system.context_switches"] = clamp(s.ContextSwitches)
	st.Counters["system.forks"] = clamp(s.ProcessCreated)
	st.Stats["system.procs_running"] = sdk.Int(clamp(s.ProcessesRunning))
	st.Stats["system.procs_blocked"] = sdk.Int(clamp(s.ProcessesBlocked))
	st.Stats["system.boot_time"] = sdk.Int(clamp(s.BootTime))
	return nil
}

// cpuTimes are a CPU's seconds in each of cpuModes.
func cpuTimes(c procfs.CPUStat) [8]float64 {
	return [8]float64{c.User, c.Nice, c.System, c.Idle, c.Iowait, c.IRQ, c.SoftIRQ, c.Steal}
}

func (p *producer) load(st sdk.Stats) error {
	l, err := p.src.proc.LoadAvg()
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(p.cfg.ProcPath, "loadavg"), err)
	}
	st.Stats["system.load.1min"] = sdk.Float(l.Load1)
	st.Stats["system.load.5min"] = sdk.Float(l.Load5)
	st.Stats["system.load.15min"] = sdk.Float(l.Load15)
	return nil
}

func (p *producer) memory(st sdk.Stats) error {
	m, err := p.src.proc.Meminfo()
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(p.cfg.ProcPath, "meminfo"), err)
	}
	get := func(v *uint64) uint64 {
		if v == nil {
			return 0
		}
		return *v
	}
	total, free := get(m.MemTotalBytes), get(m.MemFreeBytes)
	buffers := get(m.BuffersBytes)
	cached := get(m.CachedBytes) + get(m.SReclaimableBytes)
	avail := free + buffers + cached // kernels before 3.14 have no MemAvailable
	if m.MemAvailableBytes != nil {
		avail = *m.MemAvailableBytes
	}
	set := func(name string, v uint64) { st.Stats[name] = sdk.Int(clamp(v)) }
	set("system.memory.total_bytes", total)
	set("system.memory.free_bytes", free)
	set("system.memory.available_bytes", avail)
	set("system.memory.buffers_bytes", buffers)
	set("system.memory.cached_bytes", cached)
	set("system.memory.used_bytes", total-min(avail, total))
	swapTotal, swapFree := get(m.SwapTotalBytes), get(m.SwapFreeBytes)
	set("system.swap.total_bytes", swapTotal)
	set("system.swap.free_bytes", swapFree)
	set("system.swap.used_bytes", swapTotal-min(swapFree, swapTotal))
	return nil
}

func (p *producer) network(st sdk.Stats) error {
	nd, err := p.src.proc.NetDev()
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(p.cfg.ProcPath, "net/dev"), err)
	}
	var total [8]uint64
	var errs []error
	for name, l := range nd {
		vals := [8]uint64{l.RxBytes, l.RxPackets, l.RxErrors, l.RxDropped, l.TxBytes, l.TxPackets, l.TxErrors, l.TxDropped}
		if !slices.Contains(DefaultExcludeNetDevices, name) {
			for i := range total {
				total[i] += vals[i]
			}
		}
		if err := stat.ValidLabelValue(name); err != nil {
			errs = append(errs, fmt.Errorf("interface %q: %w; left out", name, err))
			continue
		}
		dev := sdk.L("device", name)
		for i, n := range netNames {
			st.Counters[sdk.MustSeries("system.network."+n, dev)] = clamp(vals[i])
		}
	}
	for i, n := range netTotalNames {
		st.Counters["system.net."+n] = clamp(total[i])
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return joinErrs(errs)
}

// virtualDisk says whether a block device is left out always: RAM disks,
// loop devices (every snap is one), floppies.
func virtualDisk(name string) bool {
	for _, pre := range []string{"loop", "ram", "zram", "fd"} {
		if rest, ok := strings.CutPrefix(name, pre); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return true
		}
	}
	return false
}

func (p *producer) disks(st sdk.Stats) error {
	ds, err := p.src.block.ProcDiskstats()
	if err != nil {
		return fmt.Errorf("reading %s: %w", filepath.Join(p.cfg.ProcPath, "diskstats"), err)
	}
	// /sys/block lists whole disks only, not their partitions.
	ents, err := os.ReadDir(filepath.Join(p.cfg.SysPath, "block"))
	if err != nil {
		return fmt.Errorf("listing disks: %w", err)
	}
	whole := make(map[string]bool, len(ents))
	for _, e := range ents {
		whole[e.Name()] = true
	}
	var total [7]uint64
	var errs []error
	for _, d := range ds {
		if virtualDisk(d.DeviceName) || (!p.cfg.DiskPartitions && !whole[d.DeviceName]) {
			continue
		}
		// /proc/diskstats counts 512-byte sectors whatever the device's.
		vals := [7]uint64{d.ReadIOs, d.WriteIOs, d.ReadSectors * 512, d.WriteSectors * 512, d.ReadTicks, d.WriteTicks, d.IOsTotalTicks}
		dev := sdk.L("device", d.DeviceName)
		if err := stat.ValidLabelValue(d.DeviceName); err != nil {
			errs = append(errs, fmt.Errorf("disk %q: %w; left out", d.DeviceName, err))
		} else {
			for i, n := range diskNames {
				st.Counters[sdk.MustSeries("system.disk."+n, dev)] = clamp(vals[i])
			}
			st.Stats[sdk.MustSeries("system.disk.io_now", dev)] = sdk.Int(clamp(d.IOsInProgress))
		}
		stacked := strings.HasPrefix(d.DeviceName, "dm-") || strings.HasPrefix(d.DeviceName, "md")
		if whole[d.DeviceName] && !stacked {
			for i := range total {
				total[i] += vals[i]
			}
		}
	}
	for i, n := range diskTotalNames {
		st.Counters["system.disk."+n] = clamp(total[i])
	}
	return joinErrs(errs)
}

// mounts returns the mount points to measure, each once (the last mount
// on a point is the one seen there), sorted.
func (p *producer) mounts() ([]string, error) {
	ms, err := p.src.proc.GetMounts()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(p.cfg.ProcPath, "self/mountinfo"), err)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		keep := !slices.Contains(p.cfg.ExcludeFSTypes, m.FSType) && !excludedMount(m.MountPoint, p.cfg.ExcludeMounts)
		seen[m.MountPoint] = keep
	}
	var out []string
	for m, keep := range seen {
		if keep {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out, nil
}

type statfsResult struct {
	mount string
	fs    fsStats
	err   error
}

func (p *producer) filesystems(ctx context.Context, st sdk.Stats) error {
	mounts, err := p.mounts()
	if err != nil {
		return err
	}
	results := make(chan statfsResult, len(mounts))
	asked := 0
	var errs []error
	p.busyMu.Lock()
	for _, m := range mounts {
		if p.busy[m] {
			errs = append(errs, fmt.Errorf("file system at %s: an earlier statfs has not returned yet (a hung network file system?); left out", m))
			continue
		}
		p.busy[m] = true
		asked++
		go func() {
			fs, err := p.statfs(m)
			p.busyMu.Lock()
			delete(p.busy, m)
			p.busyMu.Unlock()
			results <- statfsResult{m, fs, err}
		}()
	}
	p.busyMu.Unlock()
	timer := time.NewTimer(statfsWait)
	defer timer.Stop()
	got := make([]statfsResult, 0, asked)
wait:
	for range asked {
		select {
		case r := <-results:
			got = append(got, r)
		case <-timer.C:
			break wait
		case <-ctx.Done():
			break wait
		}
	}
	if len(got) < asked {
		errs = append(errs, fmt.Errorf("%d of %d file systems did not answer statfs within %v; left out", asked-len(got), asked, statfsWait))
	}
	slices.SortFunc(got, func(a, b statfsResult) int { return strings.Compare(a.mount, b.mount) })
	for _, r := range got {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("file system at %s: %w", r.mount, r.err))
			continue
		}
		if err := stat.ValidLabelValue(r.mount); err != nil {
			errs = append(errs, fmt.Errorf("file system at %.60q: %w; left out", r.mount, err))
			continue
		}
		mp := sdk.L("mountpoint", r.mount)
		set := func(name string, v uint64) {
			st.Stats[sdk.MustSeries("system.filesystem."+name, mp)] = sdk.Int(clamp(v))
		}
		set("size_bytes", r.fs.Size)
		set("free_bytes", r.fs.Free)
		set("avail_bytes", r.fs.Avail)
		set("used_bytes", r.fs.Size-min(r.fs.Free, r.fs.Size))
		set("files", r.fs.Files)
		set("files_free", r.fs.FilesFree)
		ro := uint64(0)
		if r.fs.ReadOnly {
			ro = 1
		}
		set("readonly", ro)
	}
	return joinErrs(errs)
}

// statfs asks the kernel about the file system mounted at path.
func statfs(path string) (fsStats, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return fsStats{}, err
	}
	unit := uint64(s.Frsize)
	if unit == 0 {
		unit = uint64(s.Bsize)
	}
	const stRdonly = 1 // ST_RDONLY
	return fsStats{
		Size: s.Blocks * unit, Free: s.Bfree * unit, Avail: s.Bavail * unit,
		Files: s.Files, FilesFree: s.Ffree, ReadOnly: s.Flags&stRdonly != 0,
	}, nil
}
