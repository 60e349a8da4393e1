//go:build linux

package system

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/producers/internal/producertest"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
	"github.com/statsherd/statsherd/sdk/stat"
)

func configured(t testing.TB, cfg map[string]any) *producer {
	t.Helper()
	b, _ := json.Marshal(cfg)
	p := New(hclog.NewNullLogger()).(*producer)
	if err := p.Configure(context.Background(), sdk.Config(b)); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExcludedMount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		m    string
		want bool
	}{{"/dev", true}, {"/dev/shm", true}, {"/devices", false}, {"/", false}, {"/sys/fs/cgroup", true}} {
		if got := excludedMount(tc.m, DefaultExcludeMounts); got != tc.want {
			t.Errorf("excludedMount(%q) = %v", tc.m, got)
		}
	}
}

// TestFixture checks every figure against a /proc and /sys tree written
// by hand.
func TestFixture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proc, sys := fixture(t, dir, 2)
	p := configured(t, map[string]any{"proc_path": proc, "sys_path": sys})
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	counters := map[string]int64{
		"system.cpu.user_ms": 10000, "system.cpu.nice_ms": 200, "system.cpu.system_ms": 3000,
		"system.cpu.idle_ms": 400000, "system.cpu.iowait_ms": 500, "system.cpu.irq_ms": 60,
		"system.cpu.softirq_ms": 70, "system.cpu.steal_ms": 80,
		"system.context_switches": 987654, "system.forks": 4321,
		`system.cpu.time_ms{cpu="0",mode="user"}`: 2500, `system.cpu.time_ms{cpu="3",mode="idle"}`: 100000,
		`system.cpu.time_ms{cpu="2",mode="steal"}`:  20,
		`system.network.receive_bytes{device="lo"}`: 1000, `system.network.receive_bytes{device="eth1"}`: 200000,
		`system.network.transmit_drop{device="eth1"}`: 4, `system.network.receive_errs{device="eth1"}`: 1,
		"system.net.receive_bytes": 300000, "system.net.transmit_packets": 150,
		"system.net.receive_errors": 1, "system.net.transmit_drops": 4,
		`system.disk.reads_completed{device="sdb"}`: 2000, `system.disk.read_bytes{device="sdb"}`: 4000 * 512,
		`system.disk.writes_completed{device="sdb"}`: 800, `system.disk.written_bytes{device="sdb"}`: 1600 * 512,
		`system.disk.read_time_ms{device="sdb"}`: 30, `system.disk.write_time_ms{device="sdb"}`: 70,
		`system.disk.io_time_ms{device="sdb"}`:       1800,
		`system.disk.reads_completed{device="dm-0"}`: 7,
		// Totals leave out dm-0 (its disk counts its I/O) and loop0.
		"system.disk.reads": 3000, "system.disk.bytes_written": 2400 * 512, "system.disk.io_ms": 2700,
		"system.disk.bytes_read": 6000 * 512, "system.disk.read_ms": 60,
	}
	for k, want := range counters {
		if got, ok := st.Counters[k]; !ok || got != want {
			t.Errorf("%s = %d (present %v), want %d", k, got, ok, want)
		}
	}
	stats := map[string]sdk.Value{
		"system.cpu.count": sdk.Int(4), "system.load.1min": sdk.Float(0.25), "system.load.15min": sdk.Float(1.75),
		"system.memory.total_bytes": sdk.Int(16000000 * 1024), "system.memory.available_bytes": sdk.Int(10000000 * 1024),
		"system.memory.used_bytes": sdk.Int(6000000 * 1024), "system.memory.cached_bytes": sdk.Int(5250000 * 1024),
		"system.swap.used_bytes": sdk.Int(500000 * 1024), "system.procs_running": sdk.Int(3),
		"system.procs_blocked": sdk.Int(1), "system.boot_time": sdk.Int(1764000000),
		`system.disk.io_now{device="sdb"}`: sdk.Int(0),
	}
	for k, want := range stats {
		if got := st.Stats[k]; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	for k := range st.Counters {
		if strings.Contains(k, "loop0") || strings.Contains(k, "sda1") {
			t.Errorf("%s reported: loop devices and partitions are left out by default", k)
		}
	}
	mnt := filepath.Join(dir, "mnt", "data1")
	if v, ok := st.Stats[sdk.MustSeries("system.filesystem.size_bytes", sdk.L("mountpoint", mnt))].Int64(); !ok || v <= 0 {
		t.Errorf("no size for the mounted %s: %v", mnt, st.Stats)
	}
	for k := range st.Stats {
		if strings.Contains(k, `mountpoint="/dev/shm"`) || strings.Contains(k, `mountpoint="/proc"`) {
			t.Errorf("%s reported: tmpfs and /proc are left out", k)
		}
	}
	// Every key is a valid series, named as Describe says, and the
	// per-device ones fold (for munin) into valid, distinct names.
	described := map[string]bool{}
	for _, s := range statInfo() {
		described[s.Name] = true
	}
	folded := map[string]string{}
	for _, m := range []map[string]bool{keys(st.Counters), keys(st.Stats)} {
		for k := range m {
			if err := stat.ValidSeries(k); err != nil {
				t.Error(err)
			}
			if !described[stat.SeriesName(k)] {
				t.Errorf("%s: Describe has no %s", k, stat.SeriesName(k))
			}
			f := stat.Fold(k)
			if err := sdk.ValidName(f); err != nil {
				t.Errorf("%s folds to %s: %v", k, f, err)
			}
			if other, dup := folded[f]; dup {
				t.Errorf("%s and %s both fold to %s", k, other, f)
			}
			folded[f] = k
		}
	}
	for _, f := range []string{"system.cpu.time_ms.cpu_0.mode_user", "system.network.receive_bytes.device_eth1",
		"system.disk.read_bytes.device_sdb", "system.disk.bytes_read", "system.disk.io_now.device_sdb"} {
		if _, ok := folded[f]; !ok {
			t.Errorf("no series folds to %s", f)
		}
	}

	// With partitions, sda1 is reported, and not counted twice in the totals.
	p = configured(t, map[string]any{"proc_path": proc, "sys_path": sys, "disk_partitions": true})
	st, err = p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sda1 := st.Counters[`system.disk.reads_completed{device="sda1"}`]
	if sda1 != 1 || st.Counters["system.disk.reads"] != 3000 {
		t.Errorf("with disk_partitions: sda1 reads %d, total reads %d; want 1 and 3000", sda1, st.Counters["system.disk.reads"])
	}
}

func keys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// TestHungStatfs: a file system whose statfs never returns costs its own
// stats and is not asked again while its call hangs.
func TestHungStatfs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proc, sys := fixture(t, dir, 2)
	p := configured(t, map[string]any{"proc_path": proc, "sys_path": sys})
	hung := filepath.Join(dir, "mnt", "data0")
	release := make(chan struct{})
	var calls sync.Map
	p.statfs = func(path string) (fsStats, error) {
		n, _ := calls.LoadOrStore(path, new(int))
		*n.(*int)++
		if path == hung {
			<-release
			return fsStats{}, errors.New("stale file handle")
		}
		return fsStats{Size: 100, Free: 40, Avail: 30, Files: 10, FilesFree: 5}, nil
	}
	defer close(release)
	for round := range 2 {
		start := time.Now()
		st, err := p.Collect(context.Background())
		if round == 0 && time.Since(start) > 3*statfsWait {
			t.Errorf("collect took %v with a hung mount", time.Since(start))
		}
		if err == nil || !strings.Contains(err.Error(), "statfs") {
			t.Errorf("round %d: error %v, want one about the hung file system", round, err)
		}
		other := sdk.L("mountpoint", filepath.Join(dir, "mnt", "data1"))
		if st.Stats[sdk.MustSeries("system.filesystem.used_bytes", other)] != sdk.Int(60) || st.Stats[sdk.MustSeries("system.filesystem.avail_bytes", other)] != sdk.Int(30) {
			t.Errorf("round %d: the other mount: %v", round, st.Stats)
		}
		if _, ok := st.Counters["system.cpu.user_ms"]; !ok {
			t.Errorf("round %d: the rest of the stats are missing", round)
		}
	}
	if n, _ := calls.Load(hung); *n.(*int) != 1 {
		t.Errorf("the hung mount was asked %d times, want 1", *n.(*int))
	}
}

func TestMissingProc(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger())
	err := p.Configure(context.Background(), sdk.Config(`{"proc_path": "/nonexistent/proc"}`))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/proc") {
		t.Errorf("Configure error %v, want one naming the path", err)
	}
	dir := t.TempDir()
	proc, sys := fixture(t, dir, 1)
	q := configured(t, map[string]any{"proc_path": proc, "sys_path": sys})
	q.cfg.ProcPath = proc
	if err := os.Remove(filepath.Join(proc, "meminfo")); err != nil {
		t.Fatal(err)
	}
	st, err := q.Collect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "meminfo") {
		t.Errorf("error %v, want one naming meminfo", err)
	}
	if _, ok := st.Counters["system.cpu.user_ms"]; !ok {
		t.Error("one missing file lost the other stats")
	}
}

func TestConfigure(t *testing.T) {
	t.Parallel()
	producertest.CheckConfigure(t, func() sdk.Producer { return New(hclog.NewNullLogger()) }, []producertest.ConfigureCase{
		{Name: "defaults", Config: `{}`, OK: true},
		{Name: "types", Config: `{"exclude_fs_types": ["nfs"]}`, OK: true},
		{Name: "mounts", Config: `{"exclude_mounts": ["/mnt"]}`, OK: true},
		{Name: "relative mount", Config: `{"exclude_mounts": ["mnt"]}`, OK: false},
		{Name: "partitions", Config: `{"disk_partitions": true}`, OK: true},
		{Name: "unknown key", Config: `{"interfaces": ["eth0"]}`, OK: false},
	})
}

func TestExampleHCL(t *testing.T) {
	t.Parallel()
	p := New(hclog.NewNullLogger()).(*producer)
	cfgs := producertest.DecodeExample(t, "example.hcl", Name, p)
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if len(p.cfg.ExcludeFSTypes) != len(DefaultExcludeFSTypes) || p.cfg.ProcPath != "/proc" {
		t.Errorf("decoded %+v", p.cfg)
	}
	cfgs, diags := producertest.Decode([]byte(`producer "system" {
  exclude_fs_types = ["nfs", "tmpfs"]
  exclude_mounts   = ["/mnt/backup"]
}`), "x.hcl", Name, p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if err := p.Configure(context.Background(), cfgs[0]); err != nil {
		t.Fatal(err)
	}
	if len(p.cfg.ExcludeFSTypes) != 2 || p.cfg.ExcludeMounts[0] != "/mnt/backup" {
		t.Errorf("decoded %+v", p.cfg)
	}
}

func TestOverGRPC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proc, sys := fixture(t, dir, 2)
	p := plugintest.Producer(t, New(hclog.NewNullLogger()))
	b, _ := json.Marshal(map[string]any{"proc_path": proc, "sys_path": sys})
	if err := p.Configure(context.Background(), sdk.Config(b)); err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Counters["system.context_switches"] != 987654 || st.Stats["system.load.5min"] != sdk.Float(0.5) {
		t.Errorf("over gRPC: %v", st)
	}
}

func TestREADME(t *testing.T) {
	t.Parallel()
	producertest.CheckREADME(t, "README.md", New(hclog.NewNullLogger()))
}

// benchCollect runs collects and reports, beside the wall time, the
// process's CPU time (user + system, getrusage) per collect as cpu-ns/op.
func benchCollect(b *testing.B, p *producer) {
	b.ReportAllocs()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	n := 0
	for b.Loop() {
		if _, err := p.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
		n++
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
}

// BenchmarkCollect is one collect on a machine with 8 interfaces, 8 disks
// (and their partitions) and 8 mounted file systems.
func BenchmarkCollect(b *testing.B) {
	dir := b.TempDir()
	proc, sys := fixture(b, dir, 8)
	p := configured(b, map[string]any{"proc_path": proc, "sys_path": sys})
	benchCollect(b, p)
}

// BenchmarkCollectThisMachine is one collect of this machine's own /proc.
func BenchmarkCollectThisMachine(b *testing.B) {
	p := configured(b, map[string]any{})
	benchCollect(b, p)
}
