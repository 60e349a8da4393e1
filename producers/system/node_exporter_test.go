//go:build linux

package system

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// startNodeExporter runs Debian's prometheus-node-exporter with only the
// collectors this producer's per-device series match, on a free port,
// stopped by its pid at the end of the test; it returns its /metrics URL.
func startNodeExporter(t *testing.T) string {
	t.Helper()
	bin := testenv.LookPath(t, "prometheus-node-exporter", "prometheus-node-exporter")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var log testbin.Buffer
	cmd := exec.Command(bin, "--web.listen-address="+addr, "--web.disable-exporter-metrics",
		"--collector.disable-defaults", "--collector.cpu", "--collector.netdev",
		"--collector.diskstats", "--collector.filesystem")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if !testbin.Stop(cmd.Process, done, syscall.SIGTERM, 20*time.Second) {
			t.Errorf("node_exporter did not stop on SIGTERM")
		}
	})
	url := "http://" + addr + "/metrics"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("node_exporter did not answer on %s: %v\n%s", addr, err, log.String())
		}
	}
}

// scrape returns node_exporter's families, each series keyed by its
// labels as "name=value,…" (sorted, as the text format gives them).
func scrape(t *testing.T, url string) map[string]map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := tp.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for name, f := range fams {
		m := map[string]float64{}
		for _, s := range f.GetMetric() {
			m[labelKey(s.GetLabel())] = value(s)
		}
		out[name] = m
	}
	return out
}

func labelKey(ls []*dto.LabelPair) string {
	var b []string
	for _, l := range ls {
		b = append(b, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(b, ",")
}

func value(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.GetCounter().GetValue()
	case s.Gauge != nil:
		return s.GetGauge().GetValue()
	}
	return s.GetUntyped().GetValue()
}

// ours returns this producer's series of name, keyed as scrape keys them.
func ours(st sdk.Stats, name string) map[string]float64 {
	out := map[string]float64{}
	add := func(k string, v float64) {
		if stat.SeriesName(k) != name {
			return
		}
		var b []string
		for _, l := range stat.Labels(k) {
			b = append(b, l.Name+"="+l.Value)
		}
		out[strings.Join(b, ",")] = v
	}
	for k, v := range st.Counters {
		add(k, float64(v))
	}
	for k, v := range st.Stats {
		f, _ := v.Float64()
		add(k, f)
	}
	return out
}

// TestAgainstNodeExporter: Debian's real node_exporter, scraped just
// before and just after a collect of this machine, serves the same label
// sets for each CPU and mode and each interface, and has every disk and
// mount point this producer reports, with the counters in between and
// the sizes equal.
func TestAgainstNodeExporter(t *testing.T) {
	url := startNodeExporter(t)
	p := configured(t, map[string]any{})
	before := scrape(t, url)
	st, err := p.Collect(context.Background())
	if err != nil {
		t.Logf("collect: %v", err)
	}
	after := scrape(t, url)

	for _, c := range []struct {
		ne, ours string
		scale    float64 // ours = scale × node_exporter's
		all      bool    // the label sets must be equal, not ours ⊆ node_exporter's
	}{
		{"node_cpu_seconds_total", "system.cpu.time_ms", 1000, true},
		{"node_network_receive_bytes_total", "system.network.receive_bytes", 1, true},
		{"node_network_transmit_packets_total", "system.network.transmit_packets", 1, true},
		{"node_network_receive_drop_total", "system.network.receive_drop", 1, true},
		// node_exporter keeps partitions of disks it does not know
		// (mmcblk0p1); this producer only whole disks, by /sys/block.
		{"node_disk_reads_completed_total", "system.disk.reads_completed", 1, false},
		{"node_disk_written_bytes_total", "system.disk.written_bytes", 1, false},
		{"node_disk_io_time_seconds_total", "system.disk.io_time_ms", 1000, false},
	} {
		mine, lo, hi := ours(st, c.ours), before[c.ne], after[c.ne]
		// Debian's node_exporter leaves lo out; the total of the disks
		// (no labels) is this producer's own.
		delete(mine, "device=lo")
		delete(mine, "")
		if len(mine) == 0 && len(hi) > 0 {
			t.Errorf("%s: none, node_exporter has %d series of %s", c.ours, len(hi), c.ne)
		}
		for k, v := range mine {
			l, okl := lo[k]
			h, okh := hi[k]
			if !okl || !okh {
				t.Errorf("%s{%s}: node_exporter has no %s{%s}", c.ours, k, c.ne, k)
				continue
			}
			// iowait can go back (the kernel's estimate); ms rounding.
			slack := 1.0
			if strings.Contains(k, "mode=iowait") {
				slack = 1000
			}
			if v < math.Floor(l*c.scale)-slack || v > math.Ceil(h*c.scale)+slack {
				t.Errorf("%s{%s} = %v; node_exporter said %v then %v (× %v)", c.ours, k, v, l, h, c.scale)
			}
		}
		if c.all {
			for k := range hi {
				if _, ok := mine[k]; !ok && !strings.Contains(k, "mode=guest") {
					t.Errorf("node_exporter has %s{%s}; system has no %s{%s}", c.ne, k, c.ours, k)
				}
			}
		}
	}

	// File systems: node_exporter labels them device, fstype, mountpoint
	// (and keeps tmpfs); the mount points this producer reports are
	// among its, with the same size.
	sizes := map[string]float64{}
	for k, v := range after["node_filesystem_size_bytes"] {
		for _, l := range strings.Split(k, ",") {
			if mp, ok := strings.CutPrefix(l, "mountpoint="); ok {
				sizes[mp] = v
			}
		}
	}
	mounts := ours(st, "system.filesystem.size_bytes")
	if len(mounts) == 0 {
		t.Error("no file system reported")
	}
	for k, v := range mounts {
		mp := strings.TrimPrefix(k, "mountpoint=")
		if ne, ok := sizes[mp]; !ok || ne != v {
			t.Errorf("system.filesystem.size_bytes{mountpoint=%q} = %v; node_exporter says %v (present %v)", mp, v, ne, ok)
		}
	}
	t.Log("compared ", fmt.Sprint(len(ours(st, "system.cpu.time_ms")), " CPU series, ", len(ours(st, "system.network.receive_bytes")), " interfaces, ",
		len(ours(st, "system.disk.reads_completed")), " disks, ", len(mounts), " file systems"))
}
