package system

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/sdk"
)

// procFields reads /proc/FILE and returns, for each line, its first
// field (less a trailing colon) and the rest.
func procFields(t *testing.T, file string) map[string][]string {
	t.Helper()
	f, err := os.Open("/proc/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if file == "net/dev" {
			line = strings.Replace(line, ":", " ", 1)
		}
		fs := strings.Fields(line)
		if file == "diskstats" && len(fs) > 3 {
			fs = fs[2:]
		}
		if len(fs) > 0 {
			out[strings.TrimSuffix(fs[0], ":")] = fs[1:]
		}
	}
	return out
}

func num(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// between fails unless lo ≤ got ≤ hi: a counter read between two reads
// of the kernel's own file.
func between(t *testing.T, name string, lo, got, hi int64) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %d, but /proc said %d just before and %d just after", name, got, lo, hi)
	}
}

// near fails unless got is within tol of want (a figure that moves while
// two programs read it).
func near(t *testing.T, name string, got, want, tol int64) {
	t.Helper()
	if d := got - want; d > tol || d < -tol {
		t.Errorf("%s = %d, %s said %d (allowed difference %d)", name, got, "the other tool", want, tol)
	}
}

// TestAgainstProcDfFree collects this machine and compares with /proc read
// just before and just after, and with `free -b` and `df` run alongside.
func TestAgainstProcDfFree(t *testing.T) {
	free := testenv.LookPath(t, "free", "procps")
	df := testenv.LookPath(t, "df", "coreutils")
	p := configured(t, map[string]any{})
	stat0, net0, disk0 := procFields(t, "stat"), procFields(t, "net/dev"), procFields(t, "diskstats")
	load0, _ := os.ReadFile("/proc/loadavg")
	freeOut, err := exec.Command(free, "-b").Output()
	if err != nil {
		t.Fatal(err)
	}
	dfOut, err := exec.Command(df, "-B1", "--output=target,fstype,size,avail,itotal").Output()
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stat1, net1, disk1 := procFields(t, "stat"), procFields(t, "net/dev"), procFields(t, "diskstats")
	load1, _ := os.ReadFile("/proc/loadavg")

	// /proc/stat: ticks of USER_HZ (100 on Linux) → ms.
	for i, mode := range cpuModes {
		between(t, "system.cpu."+mode+"_ms", 10*num(t, stat0["cpu"][i]), st.Counters["system.cpu."+mode+"_ms"], 10*num(t, stat1["cpu"][i]))
	}
	between(t, "system.context_switches", num(t, stat0["ctxt"][0]), st.Counters["system.context_switches"], num(t, stat1["ctxt"][0]))
	between(t, "system.forks", num(t, stat0["processes"][0]), st.Counters["system.forks"], num(t, stat1["processes"][0]))
	if bt, _ := st.Stats["system.boot_time"].Int64(); bt != num(t, stat0["btime"][0]) {
		t.Errorf("system.boot_time = %d, /proc/stat btime %s", bt, stat0["btime"][0])
	}
	l0, _ := strconv.ParseFloat(strings.Fields(string(load0))[0], 64)
	l1, _ := strconv.ParseFloat(strings.Fields(string(load1))[0], 64)
	if got, _ := st.Stats["system.load.1min"].Float64(); got != l0 && got != l1 {
		t.Errorf("system.load.1min = %v, /proc/loadavg said %q then %q", got, load0, load1)
	}

	// /proc/net/dev, every interface.
	for name, f0 := range net0 {
		if name == "Inter-|" || name == "face" {
			continue
		}
		f1 := net1[name]
		dev := sdk.L("device", name)
		rx, tx := sdk.MustSeries("system.network.receive_bytes", dev), sdk.MustSeries("system.network.transmit_packets", dev)
		between(t, rx, num(t, f0[0]), st.Counters[rx], num(t, f1[0]))
		between(t, tx, num(t, f0[9]), st.Counters[tx], num(t, f1[9]))
	}
	// /proc/diskstats, every whole disk.
	ents, _ := os.ReadDir("/sys/block")
	disks := 0
	for _, e := range ents {
		d := e.Name()
		f0, f1 := disk0[d], disk1[d]
		if virtualDisk(d) || f0 == nil {
			continue
		}
		disks++
		dev := sdk.L("device", d)
		reads, written := sdk.MustSeries("system.disk.reads_completed", dev), sdk.MustSeries("system.disk.written_bytes", dev)
		between(t, reads, num(t, f0[0]), st.Counters[reads], num(t, f1[0]))
		between(t, written, 512*num(t, f0[6]), st.Counters[written], 512*num(t, f1[6]))
	}
	if disks == 0 {
		t.Log("no disks in /sys/block but loop and RAM disks")
	}

	// free -b: totals exactly, what moves within 64 MiB.
	const slack = 64 << 20
	for _, l := range strings.Split(string(freeOut), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 7 && f[0] == "Mem:":
			total, _ := st.Stats["system.memory.total_bytes"].Int64()
			avail, _ := st.Stats["system.memory.available_bytes"].Int64()
			used, _ := st.Stats["system.memory.used_bytes"].Int64()
			buffers, _ := st.Stats["system.memory.buffers_bytes"].Int64()
			cached, _ := st.Stats["system.memory.cached_bytes"].Int64()
			if total != num(t, f[1]) {
				t.Errorf("system.memory.total_bytes = %d, free says %s", total, f[1])
			}
			near(t, "system.memory.available_bytes", avail, num(t, f[6]), slack)
			near(t, "system.memory.used_bytes", used, num(t, f[2]), slack)
			near(t, "system.memory.buffers_bytes+cached_bytes (buff/cache)", buffers+cached, num(t, f[5]), slack)
		case len(f) >= 4 && f[0] == "Swap:":
			total, _ := st.Stats["system.swap.total_bytes"].Int64()
			used, _ := st.Stats["system.swap.used_bytes"].Int64()
			if total != num(t, f[1]) {
				t.Errorf("system.swap.total_bytes = %d, free says %s", total, f[1])
			}
			near(t, "system.swap.used_bytes", used, num(t, f[2]), slack)
		}
	}

	// df: every file system df shows that is not excluded is reported,
	// with df's size and inodes, and its Avail within 64 MiB.
	compared := 0
	for _, l := range strings.Split(string(dfOut), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) != 5 {
			continue
		}
		target, fstype := f[0], f[1]
		excluded := excludedMount(target, DefaultExcludeMounts)
		for _, x := range DefaultExcludeFSTypes {
			excluded = excluded || x == fstype
		}
		mp := sdk.L("mountpoint", target)
		series := func(name string) string { return sdk.MustSeries("system.filesystem."+name, mp) }
		size, ok := st.Stats[series("size_bytes")].Int64()
		if excluded {
			if ok {
				t.Errorf("%s (%s) is reported; it is excluded", target, fstype)
			}
			continue
		}
		if !ok {
			t.Errorf("df shows %s (%s); system reports no %s", target, fstype, series("size_bytes"))
			continue
		}
		compared++
		if size != num(t, f[2]) {
			t.Errorf("%s = %d, df says %s", series("size_bytes"), size, f[2])
		}
		avail, _ := st.Stats[series("avail_bytes")].Int64()
		near(t, series("avail_bytes"), avail, num(t, f[3]), slack)
		if files, _ := st.Stats[series("files")].Int64(); f[4] != "-" && files != num(t, f[4]) {
			t.Errorf("%s = %d, df says %s inodes", series("files"), files, f[4])
		}
	}
	if compared == 0 {
		t.Errorf("no file system compared with df:\n%s", dfOut)
	}
	t.Logf("compared %d file systems with df, %d disks, %d interfaces", compared, disks, len(net0)-2)
}
