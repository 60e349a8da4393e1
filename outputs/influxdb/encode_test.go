package influxdb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/stat"
)

// lines encodes one round of one node, without gzip, as lines.
func lines(t testing.TB, prefix string, static map[string]string, n sdk.NodeSample) []string {
	t.Helper()
	e := newEncoder(prefix, static, 1000, false)
	at := time.UnixMilli(1764000000123)
	recs, _ := e.encode(sdk.NodesOf(sdk.Round{Time: at, Nodes: []sdk.NodeSample{n}}), at)
	var out []string
	for _, r := range recs {
		out = append(out, strings.Split(strings.TrimSuffix(string(r.Body), "\n"), "\n")...)
	}
	return out
}

// TestLayout: the README's layout, line for line: one line per
// measurement (a stat's group), fields sorted, counters integers, stats
// floats, nulls left out, tags sorted and escaped.
func TestLayout(t *testing.T) {
	t.Parallel()
	st := sdk.NewStats()
	st.Counters["storage_server.allocate"] = 12
	st.Stats["storage_server.latencies.get.99_9_percentile"] = sdk.Float(0.25)
	st.Stats["storage_server.consumed"] = sdk.Null
	st.Stats["load_monitor.avg_load"] = sdk.Int(3)
	st.Stats["uptime"] = sdk.Float(1e21)
	got := lines(t, "statsherd", map[string]string{"gatherer": "eu 1", "dc": "x=y"},
		sdk.NodeSample{ID: "abcd", Nickname: "web,1\nb\\", Stats: st})
	want := []string{
		`statsherd,dc=x\=y,gatherer=eu\ 1,nickname=web\,1_b_,node=abcd uptime=1e+21 1764000000123`,
		`statsherd_load_monitor,dc=x\=y,gatherer=eu\ 1,nickname=web\,1_b_,node=abcd avg_load=3 1764000000123`,
		`statsherd_storage_server,dc=x\=y,gatherer=eu\ 1,nickname=web\,1_b_,node=abcd allocate=12i,latencies.get.99_9_percentile=0.25 1764000000123`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without a prefix, the group alone is the measurement.
	if got := lines(t, "", nil, sdk.NodeSample{ID: "abcd", Nickname: "x", Stats: st}); !strings.HasPrefix(got[0], "load_monitor,") || !strings.HasPrefix(got[1], "statsherd,") {
		t.Errorf("no prefix: %q", got)
	}
}

// TestLabels: the README's labelled rows: a series' labels are tags of
// a line of its own beside node, nickname and the static tags, sorted,
// escaped, a clashing one renamed exported_NAME; the field is the
// series' name; series with the same labels share a line; the node's
// label-less line is what it was.
func TestLabels(t *testing.T) {
	t.Parallel()
	st := sdk.NewStats()
	st.Counters["disk.ops"] = 5
	st.Counters[`disk.read_bytes{device="sda",mode="r w"}`] = 42
	st.Counters[`disk.write_bytes{device="sda",mode="r w"}`] = 43
	st.Stats[`disk.latency{device="sdb,1=x",mode="",node="other"}`] = sdk.Float(0.5)
	st.Stats[`http.requests{exported_node="a",gatherer="b",node="c"}`] = sdk.Int(7)
	got := lines(t, "statsherd", map[string]string{"gatherer": "eu-1"}, sdk.NodeSample{ID: "abcd", Nickname: "web", Stats: st})
	want := []string{
		`statsherd_disk,gatherer=eu-1,nickname=web,node=abcd ops=5i 1764000000123`,
		`statsherd_disk,device=sda,gatherer=eu-1,mode=r\ w,nickname=web,node=abcd read_bytes=42i,write_bytes=43i 1764000000123`,
		`statsherd_disk,device=sdb\,1\=x,exported_node=other,gatherer=eu-1,nickname=web,node=abcd latency=0.5 1764000000123`,
		`statsherd_http,exported_exported_node=c,exported_gatherer=b,exported_node=a,gatherer=eu-1,nickname=web,node=abcd requests=7 1764000000123`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// unescaped splits a line at the spaces that are not escaped.
func unescaped(line string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case ' ':
			parts = append(parts, line[start:i])
			start = i + 1
		}
	}
	return append(parts, line[start:])
}

// FuzzLine: whatever a node calls itself and whatever static tag an
// operator sets, every line has exactly measurement+tags, fields and the
// time, no newline inside, and the node id as its node tag.
func FuzzLine(f *testing.F) {
	f.Add("storage-01", "gatherer", "eu-1")
	f.Add("a b,c=d\\", "k k", "v\nv")
	f.Add("", "=", ",")
	f.Fuzz(func(t *testing.T, nick, key, value string) {
		static := map[string]string{}
		if key != "" && key != TagNode && key != TagNickname {
			static[key] = value
		}
		st := sdk.NewStats()
		st.Counters["a.b"] = 1
		st.Stats["c"] = sdk.Float(2)
		if k, err := stat.Series("d.e", stat.Label{Name: "node", Value: value}, stat.Label{Name: "l", Value: nick}); err == nil {
			st.Stats[k] = sdk.Float(3)
		}
		for _, l := range lines(t, "statsherd", static, sdk.NodeSample{ID: "abcd", Nickname: nick, Stats: st}) {
			parts := unescaped(l)
			if len(parts) != 3 || strings.ContainsAny(l, "\n\r") {
				t.Fatalf("nickname %q, tag %q=%q: line %q has %d parts", nick, key, value, l, len(parts))
			}
			if !strings.Contains(parts[0], ",node=abcd") {
				t.Fatalf("line %q lacks its node tag", l)
			}
		}
	})
}

// BenchmarkEncode: the encoding alone (line protocol and gzip) of a
// round of 10,000 nodes × 100 values, per round.
func BenchmarkEncode(b *testing.B) {
	at := time.Now()
	r := sdk.Round{Time: at, Nodes: make([]sdk.NodeSample, 10000)}
	for n := range r.Nodes {
		st := sdk.Stats{Counters: map[string]int64{"round.seq": 1}, Stats: make(map[string]sdk.Value, 99)}
		for s := 0; s < 99; s++ {
			st.Stats[fmt.Sprintf("load.stat_%03d", s)] = sdk.Float(float64(1000 + n + s))
		}
		r.Nodes[n] = sdk.NodeSample{ID: fmt.Sprintf("node%028d", n), Nickname: fmt.Sprintf("n%05d", n), Timestamp: at, Stats: st}
	}
	for _, zip := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", zip), func(b *testing.B) {
			e := newEncoder("statsherd", nil, DefaultBatchLines, zip)
			for b.Loop() {
				e.encode(sdk.NodesOf(r), at)
			}
		})
	}
}
