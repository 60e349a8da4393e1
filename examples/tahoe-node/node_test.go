package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tally is a reporter that adds up what the node reports.
type tally struct {
	counters map[string]int64
	gauges   map[string]float64
	negative []string
}

func newTally() *tally { return &tally{counters: map[string]int64{}, gauges: map[string]float64{}} }

func (t *tally) Count(name string, d int64) error {
	if d < 0 {
		t.negative = append(t.negative, fmt.Sprintf("%s %d", name, d))
	}
	t.counters[name] += d
	return nil
}

func (t *tally) Gauge(name string, v float64) error {
	if v < 0 {
		t.negative = append(t.negative, fmt.Sprintf("%s %v", name, v))
	}
	t.gauges[name] = v
	return nil
}

func simulate(t *testing.T, seed uint64, steps int, dirs *helperDirs) (*node, *tally, float64) {
	t.Helper()
	return simulateDt(t, seed, steps, 1, dirs)
}

// simulateDt runs steps steps of dt simulated seconds each.
func simulateDt(t *testing.T, seed uint64, steps int, dt float64, dirs *helperDirs) (*node, *tally, float64) {
	t.Helper()
	n := newNode(rand.New(rand.NewPCG(seed, seed)))
	n.dirs = dirs
	rep := newTally()
	if err := n.announce(rep); err != nil {
		t.Fatal(err)
	}
	initial := rep.gauges["storage_server.consumed"]
	for i := range steps {
		if err := n.step(dt, rep); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	return n, rep, initial
}

func TestSimulation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		seed  uint64
		steps int
		dt    float64
	}{
		{"seed 1, ten minutes", 1, 600, 1},
		{"seed 2, ten minutes", 2, 600, 1},
		{"seed 3, two hours", 3, 7200, 1},
		{"seed 4, a day in 5-minute steps", 4, 288, 300},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, rep, initial := simulateDt(t, tc.seed, tc.steps, tc.dt, nil)
			if rep.negative != nil {
				t.Errorf("negative reports: %v", rep.negative)
			}
			for _, c := range counterNames {
				if v, ok := rep.counters[c]; !ok || v <= 0 {
					t.Errorf("counter %s = %d after %d s, want it to have moved", c, v, tc.steps)
				}
			}
			for _, g := range gaugeNames {
				if _, ok := rep.gauges[g]; !ok {
					t.Errorf("gauge %s never reported", g)
				}
			}
			c := rep.counters
			if want := initial + float64(c["storage_server.bytes_added"]-c["storage_server.bytes_freed"]); rep.gauges["storage_server.consumed"] != want {
				t.Errorf("consumed = %v, want initial + added - freed = %v", rep.gauges["storage_server.consumed"], want)
			}
			if c["chk_upload_helper.upload_requests"] != c["chk_upload_helper.upload_already_present"]+c["chk_upload_helper.upload_need_upload"] {
				t.Errorf("upload_requests %d != already_present + need_upload", c["chk_upload_helper.upload_requests"])
			}
			if c["chk_upload_helper.encoded_bytes"] > c["chk_upload_helper.fetched_bytes"] {
				t.Errorf("encoded %d more than fetched %d", c["chk_upload_helper.encoded_bytes"], c["chk_upload_helper.fetched_bytes"])
			}
			if rep.gauges["chk_upload_helper.active_uploads"] != float64(len(n.uploads)) {
				t.Errorf("active_uploads = %v, want %d", rep.gauges["chk_upload_helper.active_uploads"], len(n.uploads))
			}
			// Rates of a storage server under light use: allocate about
			// 1.5/s on average, reads more often than writes.
			secs := float64(tc.steps) * tc.dt
			if r := float64(c["storage_server.allocate"]) / secs; r < 0.5 || r > 3 {
				t.Errorf("allocate rate %.2f/s", r)
			}
			if c["storage_server.readv"] <= c["storage_server.writev"] {
				t.Errorf("readv %d <= writev %d", c["storage_server.readv"], c["storage_server.writev"])
			}
		})
	}
}

func TestSameSeedSameNode(t *testing.T) {
	t.Parallel()
	_, a, _ := simulate(t, 42, 300, nil)
	_, b, _ := simulate(t, 42, 300, nil)
	_, c, _ := simulate(t, 43, 300, nil)
	if fmt.Sprint(a.counters) != fmt.Sprint(b.counters) {
		t.Error("the same seed gave different nodes")
	}
	if fmt.Sprint(a.counters) == fmt.Sprint(c.counters) {
		t.Error("different seeds gave the same node")
	}
}

func TestHelperDirs(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	start := time.Now()
	dirs, err := newHelperDirs(base, start)
	if err != nil {
		t.Fatal(err)
	}
	n, _, _ := simulate(t, 7, 900, dirs)
	var files int
	for _, sub := range []string{"CHK_incoming", "CHK_encoding"} {
		entries, err := os.ReadDir(filepath.Join(base, sub))
		if err != nil {
			t.Fatal(err)
		}
		files += len(entries)
		fi, err := os.Stat(filepath.Join(base, sub, "abandoned3daysagoabandoned"))
		if err != nil {
			t.Fatal(err)
		}
		if age := start.Sub(fi.ModTime()); age < 71*time.Hour {
			t.Errorf("%s's abandoned file is %s old, want 72h", sub, age)
		}
	}
	// Every active upload has its file; the rest are abandoned leftovers.
	if files < len(n.uploads)+2 {
		t.Errorf("%d files for %d active uploads plus 2 leftovers", files, len(n.uploads))
	}
	for _, u := range n.uploads {
		dir := "CHK_incoming"
		if u.fetched >= u.size {
			dir = "CHK_encoding"
		}
		fi, err := os.Stat(filepath.Join(base, dir, u.id))
		if err != nil {
			t.Errorf("active upload %s: %v", u.id, err)
			continue
		}
		if dir == "CHK_incoming" && fi.Size() != u.fetched {
			t.Errorf("%s: %d bytes, want %d fetched", u.id, fi.Size(), u.fetched)
		}
	}
}
