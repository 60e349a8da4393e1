package graphite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/plugindoc"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/outputs/graphite"
	"github.com/statsherd/statsherd/outputs/internal/fleettest"
	"github.com/statsherd/statsherd/sdk"
)

// statsherd is the binary under test, built from the working tree.
var statsherd string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &statsherd, Pkg: "github.com/statsherd/statsherd/cmd/statsherd"}))
}

// configure returns a configured output, closed at the test's end.
func configure(t testing.TB, attrs map[string]any) sdk.Output {
	t.Helper()
	if _, ok := attrs["dir"]; !ok {
		attrs["dir"] = t.TempDir()
	}
	b, err := json.Marshal(attrs)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := attrs["min_backoff"]; !ok {
		attrs["min_backoff"], attrs["max_backoff"] = int64(50*time.Millisecond), int64(200*time.Millisecond)
	}
	o := graphite.New(hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: os.Stderr}))
	if err := o.Configure(context.Background(), sdk.Config(b)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o
}

// waitSent waits until the output has sent n lines and nothing waits.
func waitSent(t testing.TB, o sdk.Output, n int64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		st := o.(sdk.StatsReporter).Stats()
		if st.Counters["sent_samples"] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %d lines of %d: %v", st.Counters["sent_samples"], n, st)
		}
	}
}

// TestCarbonThreeRounds: three rounds of three nodes into a real
// carbon-cache; every value is read back from its whisper file with
// whisper-fetch, under the documented name, at its round's second.
// Nicknames with characters carbon cannot take are folded as the README
// says; unknown values have no point.
func TestCarbonThreeRounds(t *testing.T) {
	t.Parallel()
	c := startCarbon(t)
	o := configure(t, map[string]any{"address": c.Address()})
	nodes := []struct{ id, nick, path string }{
		{"aaaabbbbccccddddeeeeffffgggghhhh", "storage-01", "storage-01"},
		{"bbbbccccddddeeeeffffgggghhhhiiii", "storage 02.eu", "storage_02_eu"},
		{"ccccddddeeeeffffgggghhhhiiiijjjj", "ünï;x", "__n___x"},
	}
	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	want := map[string][]fleettest.Point{}
	lines := int64(0)
	for r := range 3 {
		at := base.Add(time.Duration(r) * time.Second)
		round := sdk.Round{Time: at.Add(300 * time.Millisecond)}
		for i, n := range nodes {
			st := sdk.NewStats()
			st.Counters["storage_server.allocate"] = int64(1000*i + r)
			st.Stats["load_monitor.avg_load"] = sdk.Float(float64(i) + float64(r)/4)
			st.Stats["cpu_monitor.total"] = sdk.Int(int64(1 << (40 + r)))
			st.Stats["storage_server.latencies.get.99_9_percentile"] = sdk.Null
			round.Nodes = append(round.Nodes, sdk.NodeSample{ID: n.id, Nickname: n.nick, Timestamp: at, Stats: st})
			ms := at.UnixMilli()
			p := "statsherd." + n.path + "."
			want[p+"storage_server.allocate"] = append(want[p+"storage_server.allocate"], fleettest.Point{MS: ms, Value: float64(1000*i + r)})
			want[p+"load_monitor.avg_load"] = append(want[p+"load_monitor.avg_load"], fleettest.Point{MS: ms, Value: float64(i) + float64(r)/4})
			want[p+"cpu_monitor.total"] = append(want[p+"cpu_monitor.total"], fleettest.Point{MS: ms, Value: float64(int64(1 << (40 + r)))})
			lines += 3
		}
		if err := o.Write(context.Background(), round); err != nil {
			t.Fatal(err)
		}
	}
	waitSent(t, o, lines)
	from, until := base.Unix()-1, base.Unix()+5
	for path, pts := range want {
		var got []fleettest.Point
		fleettest.WaitFor(t, path+" in whisper", c.log, func() bool {
			got = c.series(path, from, until)
			return len(got) >= len(pts)
		})
		if fmt.Sprint(got) != fmt.Sprint(pts) {
			t.Errorf("%s: whisper holds %v, want %v", path, got, pts)
		}
	}
	files := c.files()
	if len(files) != len(want) {
		t.Errorf("carbon wrote %d series, want %d (no series of an unknown value): %v", len(files), len(want), files)
	}
}

// TestE2EOutageAndKill9: a real gatherer (poll interval 1 s, carbon's
// resolution) and two real hosts; carbon is down while the gatherer
// writes rounds, is killed with -9, restarts and writes more (more than
// ten rounds in all); once carbon is back, every round written is in the
// whisper files, once, each node's value at its round's second.
func TestE2EOutageAndKill9(t *testing.T) {
	t.Parallel()
	c := startCarbon(t)
	c.stop()
	gdir := fleettest.NewGatherer(t, statsherd, "1s", fmt.Sprintf(`
output "graphite" {
  address     = %q
  min_backoff = "50ms"
  max_backoff = "300ms"
}`, c.Address()))
	g := fleettest.StartGatherer(t, statsherd, gdir)
	for _, nick := range []string{"storage-01", "storage-02"} {
		fleettest.StartHost(t, statsherd, nick, gdir)
	}
	start := time.Now()
	run1 := g.Written(t, 2, 5)
	if st := g.OutputStats("graphite"); st["queue_samples"] == 0 || st["sent_samples"] != 0 {
		t.Errorf("carbon down, yet output stats %v", st)
	}
	g.Stop(syscall.SIGKILL)
	g = fleettest.StartGatherer(t, statsherd, gdir)
	run2 := g.Written(t, 2, 5)
	t.Logf("rounds written while carbon was down: %d before kill -9, %d after", run1, run2)

	c.start()
	fleettest.WaitFor(t, "the queue drained", g.Stderr.String, func() bool {
		st := g.OutputStats("graphite")
		return st != nil && st["sent_samples"] > 0 && st["queue_samples"] == 0
	})
	from, until := start.Unix()-2, time.Now().Unix()+2
	var rounds []fleettest.Point
	fleettest.WaitFor(t, "both runs in whisper", c.log, func() bool {
		rounds = c.series("statsherd.central.statsherd.gatherer.rounds", from, until)
		r := fleettest.Runs(rounds)
		return len(r) == 2 && uint64(len(r[0])) >= run1 && uint64(len(r[1])) >= run2
	})
	// Carbon writes its cache to whisper in an order of its own, and the
	// gatherer goes on: wait until the hosts' series, up to the last
	// round read above, hold most rounds and stop growing.
	lastRound := rounds[len(rounds)-1].MS
	polls := map[string][]fleettest.Point{}
	last, still := 0, 0
	fleettest.WaitFor(t, "the hosts' series in whisper", c.log, func() bool {
		n := 0
		for _, nick := range []string{"storage-01", "storage-02"} {
			pts := c.series("statsherd."+nick+".statsherd.polls", from, until)
			for len(pts) > 0 && pts[len(pts)-1].MS > lastRound {
				pts = pts[:len(pts)-1]
			}
			polls[nick] = pts
			n += len(pts)
		}
		if n != last {
			last, still = n, 0
			return false
		}
		still++
		return still >= 20 && len(polls["storage-01"]) >= 8 && len(polls["storage-02"]) >= 8
	})
	fleettest.CheckOutage(t, rounds, run1, run2, polls)
}

// TestExampleHCL decodes example.hcl against the output's schema and
// configures the output with it; the README is held to the schema and
// stats.
func TestExampleHCL(t *testing.T) {
	plugindoc.CheckExample(t, sdk.KindOutput, graphite.Name, graphite.New(hclog.NewNullLogger()))
}

// TestConfigErrors: a bad setting is refused with the attribute named.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		attrs map[string]any
		want  string
	}{
		{"no port", map[string]any{"address": "carbon.example"}, "address"},
		{"template without name", map[string]any{"address": "c:2003", "template": "statsherd.{nickname}"}, "{name}"},
		{"template without node", map[string]any{"address": "c:2003", "template": "statsherd.{name}"}, "neither {nickname} nor {node}"},
		{"template with a space", map[string]any{"address": "c:2003", "template": "stats herd.{nickname}.{name}"}, "not allowed"},
		{"template with empty part", map[string]any{"address": "c:2003", "template": "statsherd..{nickname}.{name}"}, "empty path component"},
		{"labels", map[string]any{"address": "c:2003", "labels": "fold"}, "labels"},
		{"tls options without tls", map[string]any{"address": "c:2003", "tls_server_name": "carbon"}, "tls = true"},
		{"batch", map[string]any{"address": "c:2003", "batch_lines": 0}, "batch_lines"},
		{"queue", map[string]any{"address": "c:2003", "queue_max_bytes": 1000}, "queue_max_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.attrs["dir"] = t.TempDir()
			b, _ := json.Marshal(tt.attrs)
			o := graphite.New(hclog.NewNullLogger())
			err := o.Configure(context.Background(), sdk.Config(b))
			if err == nil {
				o.Close(context.Background())
				t.Fatal("configured")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestCarbonLabels: a round whose node has labelled series goes through
// two outputs, labels = "tags" and labels = "path", into a real
// carbon-cache with Graphite 1.1 tags on. The tagged names are read back
// from carbon's _tagged/ files, which carbon names by the SHA-256 of the
// name in its own normal form (tags sorted its way, values as it takes
// them): a name the output wrote in another form is not found. The folded
// names are read back as paths; a series without labels is a path in both.
func TestCarbonLabels(t *testing.T) {
	t.Parallel()
	c := startCarbonWith(t, true)
	tags := configure(t, map[string]any{"address": c.Address()})
	path := configure(t, map[string]any{"address": c.Address(), "labels": "path", "template": "folded.{nickname}.{name}"})
	at := time.Now().Add(-time.Minute).Truncate(time.Second)
	st := sdk.NewStats()
	st.Counters[`disk.read_bytes{device="sda",mode="r w"}`] = 42
	st.Counters[`http.requests{code="200",code2="2xx",name="api"}`] = 7
	st.Stats[`http.latency{handler="/a;b",quantile="~0.99"}`] = sdk.Float(0.25)
	st.Stats["load.avg"] = sdk.Float(1.5)
	round := sdk.Round{Time: at, Nodes: []sdk.NodeSample{{ID: "abcd", Nickname: "web 1", Timestamp: at, Stats: st}}}
	for _, o := range []sdk.Output{tags, path} {
		if err := o.Write(context.Background(), round); err != nil {
			t.Fatal(err)
		}
		waitSent(t, o, 4)
	}
	ms := at.UnixMilli()
	tagged := map[string]float64{
		"statsherd.web_1.disk.read_bytes;device=sda;mode=r_w":                42,
		"statsherd.web_1.http.requests;code2=2xx;code=200;exported_name=api": 7,
		"statsherd.web_1.http.latency;handler=/a_b;quantile=_0.99":           0.25,
	}
	paths := map[string]float64{
		"statsherd.web_1.load.avg":               1.5,
		"folded.web_1.load.avg":                  1.5,
		"folded.web_1.disk.read_bytes.sda.r_w":   42,
		"folded.web_1.http.requests.200.2xx.api": 7,
		"folded.web_1.http.latency._a_b._0_99":   0.25,
	}
	for name, v := range tagged {
		want := []fleettest.Point{{MS: ms, Value: v}}
		var got []fleettest.Point
		fleettest.WaitFor(t, name+" in whisper (_tagged)", c.log, func() bool {
			got = c.tagged(name, at.Unix()-1, at.Unix()+2)
			return len(got) > 0
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	for name, v := range paths {
		want := []fleettest.Point{{MS: ms, Value: v}}
		var got []fleettest.Point
		fleettest.WaitFor(t, name+" in whisper", c.log, func() bool {
			got = c.series(name, at.Unix()-1, at.Unix()+2)
			return len(got) > 0
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	if files := c.files(); len(files) != len(tagged)+len(paths) {
		t.Errorf("carbon wrote %d series, want %d: %v", len(files), len(tagged)+len(paths), files)
	}
}
