package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordedNode serves the recorded answers of a real Tahoe-LAFS node
// (producers/tahoe/testdata/recorded) at /statistics?t=json.
type recordedNode struct {
	srv  *httptest.Server
	body atomic.Value // []byte
}

func serveRecorded(t *testing.T, name string) *recordedNode {
	t.Helper()
	n := &recordedNode{}
	n.set(t, name)
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/statistics" || r.URL.Query().Get("t") != "json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(n.body.Load().([]byte))
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func (n *recordedNode) set(t *testing.T, name string) { n.body.Store(recordedBytes(t, name)) }

func recordedBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "producers", "tahoe", "testdata", "recorded", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tahoeStats is a recorded answer decoded with numbers kept as written.
type tahoeStats struct {
	Counters map[string]json.Number `json:"counters"`
	Stats    map[string]any         `json:"stats"`
}

func decodeTahoe(t *testing.T, b []byte) tahoeStats {
	t.Helper()
	var s tahoeStats
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// sameCounters says whether the snapshot's node has exactly the Tahoe
// node's counters, and if not, the first difference.
func sameCounters(s snapshot, want tahoeStats) (bool, string) {
	for _, node := range s {
		if node.Nickname != "storage-01" {
			continue
		}
		for k, w := range want.Counters {
			if got := string(node.Stats.Counters[k]); got != w.String() {
				return false, fmt.Sprintf("counter %s = %q, the node says %s", k, got, w)
			}
		}
		for k := range node.Stats.Counters {
			if _, ok := want.Counters[k]; !ok && !strings.HasPrefix(k, "statsherd.") && !strings.HasPrefix(k, "system.") {
				return false, "counter " + k + " is not the node's"
			}
		}
		return true, ""
	}
	return false, "no storage-01 in the snapshot"
}

// TestRecordedTahoeNode: the recorded answers of a real Tahoe node →
// host (producer "tahoe", node_dir) → gatherer → munin snapshot →
// statsherd-munin. Every Tahoe graph the node's stats feed prints the
// node's value, counters equal the node's, null percentiles stay null,
// and a restart on a new port, written to node.url, is followed.
func TestRecordedTahoeNode(t *testing.T) {
	base := t.TempDir()
	gdir := filepath.Join(base, "gatherer")
	furl := startGatherer(t, gdir)

	nodeDir := filepath.Join(base, "tahoe-node")
	if err := os.MkdirAll(nodeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := serveRecorded(t, "1-immutable")
	write(t, filepath.Join(nodeDir, "node.url"), first.srv.URL+"/\n")
	hdir := filepath.Join(base, "host")
	write(t, filepath.Join(base, "host.hcl"), fmt.Sprintf(`
nickname     = "storage-01"
basedir      = %q
poll_timeout = "600ms"
gatherer { furl_file = %q }
reporting { statsd = "127.0.0.1:%d" }
status { listen = "" }
producer "tahoe" { node_dir = %q }
`, hdir, furl, freeUDPPort(t), nodeDir))
	start(t, "host", bins.statsherd, "host", "-config", filepath.Join(base, "host.hcl"))

	statsfile := filepath.Join(gdir, "stats.json")
	read := func() snapshot {
		b, err := os.ReadFile(statsfile)
		if err != nil {
			return nil
		}
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", statsfile, err)
		}
		return s
	}
	waitCounters := func(name string) snapshot {
		t.Helper()
		want := decodeTahoe(t, recordedBytes(t, name))
		var why string
		var s snapshot
		waitFor(t, 30*time.Second, "the node's counters of "+name+" in the snapshot", func() bool {
			s = read()
			var ok bool
			ok, why = sameCounters(s, want)
			return ok
		}, func() string { return why })
		return s
	}

	waitCounters("1-immutable")
	first.set(t, "2-mutable")
	s := waitCounters("2-mutable")
	want := decodeTahoe(t, recordedBytes(t, "2-mutable"))
	for _, node := range s {
		if node.Nickname != "storage-01" {
			continue
		}
		for k, v := range want.Stats {
			got := string(node.Stats.Stats[k])
			if v == nil && got != "null" {
				t.Errorf("stat %s = %s in the snapshot, the node says null", k, got)
			}
			if v != nil && got == "" {
				t.Errorf("stat %s missing from the snapshot", k)
			}
		}
		if up := string(node.Stats.Stats["tahoe.up"]); up != "1" {
			t.Errorf("tahoe.up = %s", up)
		}
	}

	// Every graph the node's stats feed prints the node's value.
	links := filepath.Join(base, "plugins")
	if err := os.Mkdir(links, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bins.munin, "install-links", "-target", bins.munin, links).CombinedOutput(); err != nil {
		t.Fatalf("statsherd-munin install-links: %v\n%s", err, out)
	}
	value := regexp.MustCompile(`(?m)^storage_01_[a-z2-7]{4}\.value (\S+)$`)
	fed := 0
	for _, gr := range graphs(t) {
		var nodeValue string
		if gr.category == "counters" {
			if v, ok := want.Counters[gr.stat]; ok {
				nodeValue = v.String()
			}
		} else if v, ok := want.Stats[gr.stat]; ok && v != nil {
			nodeValue = fmt.Sprint(v)
		}
		if nodeValue == "" {
			continue
		}
		fed++
		t.Run(gr.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(links, gr.name))
			cmd.Env = append(os.Environ(), "statsfile="+statsfile, "stale_after=1h")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", gr.name, err, out)
			}
			m := value.FindSubmatch(out)
			if m == nil {
				t.Fatalf("%s printed no value for the node:\n%s", gr.name, out)
			}
			got, _ := strconv.ParseFloat(string(m[1]), 64)
			w, _ := strconv.ParseFloat(nodeValue, 64)
			if got != w || (gr.category == "counters" && string(m[1]) != nodeValue) {
				t.Errorf("%s printed %s, the node says %s", gr.name, m[1], nodeValue)
			}
		})
	}
	// storage_server.allocate, get, writev, readv, bytes_added, allocated;
	// uploader files and bytes; mutable published and retrieved.
	if fed < 10 {
		t.Errorf("the node's stats fed %d graphs, want at least 10", fed)
	}

	// The node restarts on a new port and says so in node.url: new
	// counters, from the new port.
	first.srv.Close()
	second := serveRecorded(t, "3-restarted")
	write(t, filepath.Join(nodeDir, "node.url"), second.srv.URL+"/\n")
	waitCounters("3-restarted")
}
