package graph

import (
	"reflect"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/munin/snapshot"
)

func TestTahoe(t *testing.T) {
	t.Parallel()
	table, err := Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(table.Graphs()); n != 26 {
		t.Fatalf("%d graphs, want Tahoe's 26", n)
	}
	tests := []struct {
		name     string
		stat     string
		category snapshot.Category
		header   []string
		fields   []string
	}{
		// Tahoe drew this counter as a GAUGE; munin's existing RRDs are GAUGE.
		{"tahoe_storage_bytes_added", "storage_server.bytes_added", snapshot.Counters,
			[]string{"graph_title Tahoe Storage Server Bytes Added", "graph_vlabel bytes", "graph_category tahoe_storage_server", "graph_info This graph shows cummulative bytes added"},
			[]string{"label %(name)s", "draw LINE1"}},
		{"tahoe_storage_consumed", "storage_server.consumed", snapshot.Stats,
			[]string{"graph_title Tahoe Storage Server Space Consumed", "graph_vlabel bytes", "graph_category tahoe_storage_server", "graph_info This graph shows space consumed", "graph_args --base 1024"},
			[]string{"label %(name)s", "draw LINE1"}},
		{"tahoe_storage_operations_allocate", "storage_server.allocate", snapshot.Counters,
			[]string{"graph_title Tahoe Storage Server Allocate_Bucket Operations", "graph_vlabel operations per second", "graph_category tahoe_storage_server",
				"graph_info This graph shows how many allocate_buckets operations occured per second. Each immutable file upload causes one such operation per server."},
			[]string{"label %(name)s", "type DERIVE", "min 0", "draw LINE1"}},
		{"tahoe_runtime_load_avg", "load_monitor.avg_load", snapshot.Stats,
			[]string{"graph_title Tahoe Runtime Load Average", "graph_vlabel load", "graph_category tahoe", "graph_info This graph shows average reactor delay"},
			[]string{"label %(name)s", "draw LINE1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := table.Lookup(tt.name)
			if g == nil {
				t.Fatalf("no graph %s", tt.name)
			}
			if g.Stat != tt.stat || g.Category != tt.category {
				t.Errorf("stat %s %s, want %s %s", g.Category, g.Stat, tt.category, tt.stat)
			}
			if !reflect.DeepEqual(g.Header, tt.header) {
				t.Errorf("header\n got %q\nwant %q", g.Header, tt.header)
			}
			if !reflect.DeepEqual(g.Fields, tt.fields) {
				t.Errorf("fields\n got %q\nwant %q", g.Fields, tt.fields)
			}
		})
	}
	for _, g := range table.Graphs() {
		if g.Category == snapshot.Counters && !strings.HasSuffix(g.Name, "_bytes_added") && !strings.HasSuffix(g.Name, "_bytes_freed") &&
			!reflect.DeepEqual(g.Fields, []string{"label %(name)s", "type DERIVE", "min 0", "draw LINE1"}) {
			t.Errorf("%s: counter graph without DERIVE min 0: %q", g.Name, g.Fields)
		}
	}
}

func TestAppendFieldConfig(t *testing.T) {
	t.Parallel()
	g := &Graph{Fields: []string{"label %(name)s", "info %(name)s and %(name)s", "draw LINE1"}}
	got := string(g.AppendFieldConfig(nil, "n_abcd"))
	want := "n_abcd.label n_abcd\nn_abcd.info n_abcd and n_abcd\nn_abcd.draw LINE1\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTableAdd(t *testing.T) {
	t.Parallel()
	table, err := Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"tahoe_storage_consumed", `graph "tahoe_storage_consumed" is already defined (tahoe_stats)`},
		{Multigraph, "reserved"},
		{"9graph", "do not start with a digit"},
		{"bad-name", `has '-' at byte 3`},
		{"", "empty graph name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := table.Add(&Graph{Name: tt.name})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Add(%q) = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	src := `
graph "app_req" {
  stat = "app.requests"
  kind = "counter"
}
graph "app_q" {
  stat     = "app.queue"
  kind     = "stat"
  title    = "Queue"
  vlabel   = "jobs"
  category = "app"
  info     = "Jobs waiting"
  args     = "--base 1000 -l 0"
  min      = -1.5
  max      = 100
  draw     = "AREASTACK"
}
graph "app_rate" {
  stat = "app.bytes"
  kind = "counter"
  type = "COUNTER"
}
graph "app_derive" {
  stat = "app.writes"
  kind = "counter"
  type = "DERIVE"
}
graph "app_derive_min" {
  stat = "app.reads"
  kind = "counter"
  type = "DERIVE"
  min  = -5
}
`
	table := NewTable()
	if diags := Load(table, []byte(src), "graphs.hcl"); diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		name           string
		header, fields []string
		category       snapshot.Category
	}{
		{"app_req", []string{"graph_title app_req", "graph_category statsherd"}, []string{"label %(name)s", "type DERIVE", "min 0", "draw LINE1"}, snapshot.Counters},
		{"app_q", []string{"graph_title Queue", "graph_vlabel jobs", "graph_category app", "graph_info Jobs waiting", "graph_args --base 1000 -l 0"},
			[]string{"label %(name)s", "min -1.5", "max 100", "draw AREASTACK"}, snapshot.Stats},
		{"app_rate", []string{"graph_title app_rate", "graph_category statsherd"}, []string{"label %(name)s", "type COUNTER", "draw LINE1"}, snapshot.Counters},
		// DERIVE written out gets min 0 as the default one does: a
		// counter reset must not draw a negative spike.
		{"app_derive", []string{"graph_title app_derive", "graph_category statsherd"}, []string{"label %(name)s", "type DERIVE", "min 0", "draw LINE1"}, snapshot.Counters},
		{"app_derive_min", []string{"graph_title app_derive_min", "graph_category statsherd"}, []string{"label %(name)s", "type DERIVE", "min -5", "draw LINE1"}, snapshot.Counters},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := table.Lookup(tt.name)
			if g == nil {
				t.Fatal("missing")
			}
			if !reflect.DeepEqual(g.Header, tt.header) || !reflect.DeepEqual(g.Fields, tt.fields) || g.Category != tt.category {
				t.Errorf("got %s %q %q", g.Category, g.Header, g.Fields)
			}
			if !strings.HasPrefix(g.Origin, "graphs.hcl:") {
				t.Errorf("origin %q", g.Origin)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"syntax", "graph \"a\" {\n  stat = \n}\n", "graphs.hcl:2,10-3,1: Invalid expression"},
		{"missing stat", "graph \"a\" {\n  kind = \"stat\"\n}\n", `graphs.hcl:1,11-11: Missing required argument; The argument "stat" is required`},
		{"unknown attribute", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  colour = \"red\"\n}\n", `graphs.hcl:4,3-9: Unsupported argument; An argument named "colour" is not expected here.`},
		{"bad kind", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"gauge\"\n}\n", `graphs.hcl:3,10-17: Invalid kind; kind is "gauge"`},
		{"bad stat name", "graph \"a\" {\n  stat = \"a..b\"\n  kind = \"stat\"\n}\n", `graphs.hcl:2,10-16: Invalid stat name; stat name "a..b" has an empty part.`},
		{"bad type", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  type = \"RATE\"\n}\n", `graphs.hcl:4,10-16: Invalid type`},
		{"bad draw", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  draw = \"DOTS\"\n}\n", `graphs.hcl:4,10-16: Invalid draw`},
		{"min not a number", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  min = \"low\"\n}\n", `graphs.hcl:4,9-14: Invalid min; min must be a number.`},
		{"newline in title", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  title = \"a\\nb\"\n}\n", `graphs.hcl:4,11-17: Invalid title; A line break`},
		{"clash with tahoe", "graph \"tahoe_storage_consumed\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n}\n", `graphs.hcl:1,7-31: Invalid graph name; graph "tahoe_storage_consumed" is already defined (tahoe_stats).`},
		{"duplicate", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n}\ngraph \"a\" {\n  stat = \"a.c\"\n  kind = \"stat\"\n}\n", `graphs.hcl:5,7-10: Invalid graph name; graph "a" is already defined (graphs.hcl:1,1-10)`},
		{"bad name", "graph \"my-graph\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n}\n", `graphs.hcl:1,7-17: Invalid graph name`},
		{"variables", "graph \"a\" {\n  stat = \"a.b\"\n  kind = \"stat\"\n  vlabel = \"per ${graph_period}\"\n}\n", `graphs.hcl:4,19-31: Variables not allowed`},
		{"top-level attribute", "stat = \"x\"\n", `graphs.hcl:1,1-5: Unsupported argument`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			table, err := Tahoe()
			if err != nil {
				t.Fatal(err)
			}
			diags := Load(table, []byte(tt.src), "graphs.hcl")
			if !diags.HasErrors() {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("diagnostics\n got %q\nwant %q", diags.Error(), tt.want)
			}
		})
	}
}

// TestTahoeQuirksKept: Tahoe's mistakes that munin's existing graphs carry
// are kept on purpose (munin/README.md lists them).
func TestTahoeQuirksKept(t *testing.T) {
	t.Parallel()
	table, err := Tahoe()
	if err != nil {
		t.Fatal(err)
	}
	// The files graph kept the bytes graph's title in Tahoe.
	if g := table.Lookup("tahoe_uploader_files_uploaded"); g == nil || g.Header[0] != "graph_title Tahoe Uploader Bytes Uploaded" || g.Header[1] != "graph_vlabel files" {
		t.Errorf("tahoe_uploader_files_uploaded header %q, want Tahoe's title \"Tahoe Uploader Bytes Uploaded\" and vlabel files", g.Header)
	}
	// Two byte counters drawn as GAUGEs (no type line).
	for _, name := range []string{"tahoe_storage_bytes_added", "tahoe_storage_bytes_freed"} {
		g := table.Lookup(name)
		if g == nil || strings.Contains(strings.Join(g.Fields, "\n"), "type ") || g.Category != snapshot.Counters {
			t.Errorf("%s fields %q, want a counter with no type (GAUGE)", name, g.Fields)
		}
	}
	// "cummulative", "occured": Tahoe's spelling.
	if g := table.Lookup("tahoe_storage_bytes_added"); !strings.Contains(strings.Join(g.Header, "\n"), "cummulative") {
		t.Errorf("tahoe_storage_bytes_added lost Tahoe's spelling: %q", g.Header)
	}
}

func TestWants(t *testing.T) {
	t.Parallel()
	a := &Graph{Name: "a", Stat: "x.y", Category: snapshot.Counters}
	b := &Graph{Name: "b", Stat: "x.y", Category: snapshot.Stats}
	c := &Graph{Name: "c", Stat: "x.y", Category: snapshot.Counters}
	got := Wants(a, b, c)
	want := []snapshot.Want{{Category: snapshot.Counters, Name: "x.y"}, {Category: snapshot.Stats, Name: "x.y"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Wants = %v, want %v", got, want)
	}
}
