package statsd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/munin"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestTaggedStatsdMuninGolden: tagged statsd lines (testdata/tagged-lines.txt),
// through the host's listener and the munin snapshot writer, give the
// snapshot in testdata/tagged-snapshot.json, byte for byte. The golden file
// was written by the code before labels (commit 34e6c5b, with -update):
// DogStatsD tags that now travel as labels still fold into the very names
// munin always had.
func TestTaggedStatsdMuninGolden(t *testing.T) {
	t.Parallel()
	lines, err := os.ReadFile("testdata/tagged-lines.txt")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{log: hclog.NewNullLogger(), store: NewStore(0, 0)}
	srv.store.mu.Lock()
	srv.store.setNow(time.Now())
	sc := bufio.NewScanner(bytes.NewReader(lines))
	for sc.Scan() {
		srv.handleLocked(sc.Bytes())
	}
	srv.store.mu.Unlock()
	st := sdk.NewStats()
	srv.store.addTo(st, true)

	path := filepath.Join(t.TempDir(), "stats.json")
	o := plugintest.Output(t, munin.New(hclog.NewNullLogger()))
	ctx := context.Background()
	cfg, _ := json.Marshal(map[string]any{"path": path})
	if err := o.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1764000000, 500000000)
	if err := o.Write(ctx, sdk.Round{Time: at, Nodes: []sdk.NodeSample{{ID: "xgru5adktjjhqwdbbaoi3hu3zq3cvgme", Nickname: "web", Timestamp: at, Stats: st}}}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/tagged-snapshot.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the snapshot differs from %s:\n got: %s\nwant: %s", golden, got, want)
	}
}

// TestTagsBecomeLabels: a counter's or gauge's tags are its labels; a
// tag that cannot be a label keeps the line's folded name, and is counted.
func TestTagsBecomeLabels(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	srv := &Server{log: hclog.New(&hclog.LoggerOptions{Output: &log}), store: NewStore(0, 0)}
	srv.handle([]byte("http.requests:2|c|#status:500,route:/login\nmem.used:5|g|#host:web01,env\nx:1|c|#host-name:a"))
	srv.handle([]byte("y:1|c|#a:1,a:2")) // within the minute: counted, not logged again
	if got := log.String(); strings.Count(got, "cannot be labels") != 1 || !strings.Contains(got, "example=host-name:a") || !strings.Contains(got, "tags=1") {
		t.Errorf("the summary in the log: %s", got)
	}
	st := sdk.NewStats()
	srv.AddTo(st)
	srv.store.addTo(st, true)
	if st.Counters[`http.requests{route="/login",status="500"}`] != 2 {
		t.Errorf("counters %v", st.Counters)
	}
	if v, _ := st.Stats[`mem.used{env="",host="web01"}`].Int64(); v != 5 {
		t.Errorf("stats %v", st.Stats)
	}
	if st.Counters["x.host-name_a"] != 1 || st.Counters["y.a_1.a_2"] != 1 || st.Counters["statsherd.statsd.tags_not_labels"] != 2 {
		t.Errorf("a tag that cannot be a label: counters %v", st.Counters)
	}
}
