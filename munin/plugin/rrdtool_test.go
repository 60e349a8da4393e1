package plugin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/internal/testenv"
)

// TestHugeCounterRRDTool: a counter of 2^64 is printed as that integer and
// a real rrdtool takes it on a DERIVE data source (munin's type for
// Tahoe's counters), where it refuses 1.8446744073709552e+19.
func TestHugeCounterRRDTool(t *testing.T) {
	t.Parallel()
	rrdtool := testenv.LookPath(t, "rrdtool", "rrdtool")
	dir := t.TempDir()
	statsfile := filepath.Join(dir, "stats.json")
	const t0 = 1764000000
	values := []string{}
	// Two rounds, 300 s apart, 2^64 and 2^64 + 300000: a rate of 1000/s.
	for i, counter := range []string{"18446744073709551616", "18446744073709851616"} {
		snap := `{"bigbigbigbig": {"timestamp": ` + strconv.Itoa(1763999999+i) + `.5, "nickname": "big", "stats": {"counters": {"uploader.bytes_uploaded": ` + counter + `}, "stats": {}}}}`
		if err := os.WriteFile(statsfile, []byte(snap), 0o644); err != nil {
			t.Fatal(err)
		}
		out := runPlugin(t, map[string]string{EnvStatsFile: statsfile}, "tahoe_uploader_bytes_uploaded")
		if want := "big_bigb.value " + counter + "\n"; out != want {
			t.Fatalf("fetch = %q, want %q", out, want)
		}
		values = append(values, strings.TrimPrefix(strings.TrimSpace(out), "big_bigb.value "))
	}
	config := runPlugin(t, map[string]string{EnvStatsFile: statsfile}, "tahoe_uploader_bytes_uploaded", "config")
	if !strings.Contains(config, "big_bigb.type DERIVE\n") {
		t.Fatalf("config has no DERIVE field:\n%s", config)
	}
	rrd := filepath.Join(dir, "big.rrd")
	run := func(args ...string) (string, error) {
		out, err := exec.Command(rrdtool, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("create", rrd, "--start", strconv.Itoa(t0), "--step", "300", "DS:x:DERIVE:600:0:U", "RRA:AVERAGE:0.5:1:10"); err != nil {
		t.Fatalf("rrdtool create: %v\n%s", err, out)
	}
	for i, v := range values {
		if out, err := run("update", rrd, strconv.Itoa(t0+300*(i+1))+":"+v); err != nil {
			t.Fatalf("rrdtool update with %s: %v\n%s", v, err, out)
		}
	}
	out, err := run("fetch", rrd, "AVERAGE", "--start", strconv.Itoa(t0+300), "--end", strconv.Itoa(t0+600))
	if err != nil {
		t.Fatalf("rrdtool fetch: %v\n%s", err, out)
	}
	if !strings.Contains(out, strconv.Itoa(t0+600)+": 1.0000000000e+03") {
		t.Errorf("rrdtool fetch: want a rate of 1000/s at %d:\n%s", t0+600, out)
	}
	// What a float64 would have printed is refused: the test can tell.
	if out, err := run("update", rrd, strconv.Itoa(t0+900)+":1.8446744073709552e+19"); err == nil || !strings.Contains(out, "not a simple signed integer") {
		t.Errorf("rrdtool took a float on a DERIVE source (%v): %s", err, out)
	}
}
