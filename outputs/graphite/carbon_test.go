package graphite_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/statsherd/statsherd/internal/testenv"
	"github.com/statsherd/statsherd/outputs/internal/fleettest"
)

// carbonServer is Debian's carbon-cache, run in the foreground with a
// configuration and storage of its own, on free loopback ports, whisper
// files at one-second resolution.
type carbonServer struct {
	t            *testing.T
	bin, fetch   string
	dir, conf    string
	port, pickle int
	query        int
	proc         *fleettest.Proc
}

func startCarbon(t *testing.T) *carbonServer { return startCarbonWith(t, false) }

// startCarbonWith is startCarbon, with Graphite 1.1 tags on or off. With
// tags, carbon-cache also tells a tag database (graphite-web) about each
// new series: pointed at a closed port, it logs that it cannot.
func startCarbonWith(t *testing.T, tags bool) *carbonServer {
	t.Helper()
	c := &carbonServer{t: t, bin: testenv.LookPath(t, "carbon-cache", "graphite-carbon"),
		fetch: testenv.LookPath(t, "whisper-fetch", "python3-whisper"), dir: t.TempDir()}
	c.port, c.pickle, c.query = fleettest.FreePort(t), fleettest.FreePort(t), fleettest.FreePort(t)
	c.conf = filepath.Join(c.dir, "carbon.conf")
	conf := fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/storage/
LOCAL_DATA_DIR = %[1]s/storage/whisper/
CONF_DIR = %[1]s/
LOG_DIR = %[1]s/log/
PID_DIR = %[1]s/
DATABASE = whisper
ENABLE_LOGROTATION = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 100000
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[2]d
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[3]d
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[4]d
CARBON_METRIC_INTERVAL = 0
ENABLE_TAGS = %[5]s
GRAPHITE_URL = http://127.0.0.1:%[6]d
`, c.dir, c.port, c.pickle, c.query, map[bool]string{true: "True", false: "False"}[tags], fleettest.FreePort(t))
	// One point per second for a day: the test's poll interval is a second
	// (see the README: storage-schemas.conf matches the poll interval).
	schemas := "[statsherd]\npattern = ^statsherd\\.\nretentions = 1s:1d\n\n[default]\npattern = .*\nretentions = 1s:1d\n"
	for name, body := range map[string]string{"carbon.conf": conf, "storage-schemas.conf": schemas} {
		if err := os.WriteFile(filepath.Join(c.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.start()
	return c
}

func (c *carbonServer) Address() string { return fmt.Sprintf("127.0.0.1:%d", c.port) }

// start runs carbon-cache and waits until it listens.
func (c *carbonServer) start() {
	c.t.Helper()
	os.Remove(filepath.Join(c.dir, "carbon-cache-a.pid"))
	c.proc = fleettest.Start(c.t, c.bin, "--config="+c.conf, "--debug", "start")
	fleettest.WaitFor(c.t, "carbon-cache listening", c.proc.Stderr.String, func() bool {
		return strings.Contains(c.proc.Stderr.String(), fmt.Sprintf("CarbonReceiverFactory starting on %d", c.port))
	})
}

// stop stops carbon-cache (SIGTERM: it writes what it holds first).
func (c *carbonServer) stop() { c.proc.Stop(syscall.SIGTERM) }

func (c *carbonServer) log() string { return c.proc.Stderr.String() }

// series reads a series back from its whisper file with whisper-fetch:
// its points, Unix milliseconds, nulls left out. A series not (yet) on
// disk has none.
func (c *carbonServer) series(path string, from, until int64) []fleettest.Point {
	c.t.Helper()
	return c.file(strings.ReplaceAll(path, ".", "/")+".wsp", from, until)
}

// tagged reads a tagged series (name;key=value;…, tags sorted) back:
// carbon keeps it in _tagged/, under the SHA-256 of its name.
func (c *carbonServer) tagged(name string, from, until int64) []fleettest.Point {
	c.t.Helper()
	h := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	return c.file(filepath.Join("_tagged", h[:3], h[3:6], h+".wsp"), from, until)
}

// file reads a whisper file (relative to the storage) back.
func (c *carbonServer) file(rel string, from, until int64) []fleettest.Point {
	c.t.Helper()
	file := filepath.Join(c.dir, "storage", "whisper", rel)
	if _, err := os.Stat(file); err != nil {
		return nil
	}
	out, err := exec.Command(c.fetch, "--json", fmt.Sprintf("--from=%d", from), fmt.Sprintf("--until=%d", until), file).Output()
	if err != nil {
		c.t.Fatalf("whisper-fetch %s: %v", file, err)
	}
	var res struct {
		Start, Step int64
		Values      []*float64
	}
	if err := json.Unmarshal(out, &res); err != nil {
		c.t.Fatalf("whisper-fetch %s: %v\n%s", file, err, out)
	}
	var pts []fleettest.Point
	for i, v := range res.Values {
		if v != nil {
			pts = append(pts, fleettest.Point{MS: (res.Start + int64(i)*res.Step) * 1000, Value: *v})
		}
	}
	return pts
}

// files lists the series carbon has written, as dotted paths.
func (c *carbonServer) files() []string {
	root := filepath.Join(c.dir, "storage", "whisper")
	var out []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".wsp") {
			rel, _ := filepath.Rel(root, strings.TrimSuffix(p, ".wsp"))
			out = append(out, strings.ReplaceAll(rel, "/", "."))
		}
		return nil
	})
	return out
}
