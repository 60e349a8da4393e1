package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte(`{"a": {"timestamp": 1, "stats": {"stats": {"x": "oops"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notJSON := filepath.Join(dir, "page.html")
	if err := os.WriteFile(notJSON, []byte("<html>502 Bad Gateway</html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	array := filepath.Join(dir, "array.json")
	if err := os.WriteFile(array, []byte(`[{"timestamp": 1}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	if err := os.WriteFile(truncated, []byte(`{"a": {"timestamp": 1, "stats": {"sta`), 0o644); err != nil {
		t.Fatal(err)
	}
	badGraphs := filepath.Join(dir, "graphs.hcl")
	if err := os.WriteFile(badGraphs, []byte("graph \"g\" {\n  stat = \"a.b\"\n  kind = \"gauge\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "testdata/snapshots/grid.json"
	tests := []struct {
		name string
		link string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"unknown graph", "tahoe_nosuch", nil, map[string]string{EnvStatsFile: good}, 1, `unknown graph "tahoe_nosuch"`},
		{"no statsfile", "tahoe_storage_consumed", nil, nil, 1, "the environment variable statsfile is not set"},
		{"missing snapshot", "tahoe_storage_consumed", []string{"config"}, map[string]string{EnvStatsFile: filepath.Join(dir, "none.json")}, 1, "no such file or directory (statsfile names it"},
		{"corrupt snapshot", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: corrupt}, 1, `snapshot ` + corrupt + ` is corrupt: line 1, column 58: expected ',' or '}' in an object, found the end of the file`},
		{"not JSON", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: notJSON}, 1, `snapshot ` + notJSON + ` is corrupt: line 1, column 1: a snapshot is a JSON object of node id to node, found '<'`},
		{"not an object", "tahoe_storage_consumed", []string{"config"}, map[string]string{EnvStatsFile: array}, 1, `is corrupt: line 1, column 1: a snapshot is a JSON object of node id to node, found an array`},
		{"every shard unreadable", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: notJSON + " " + filepath.Join(dir, "none.json")}, 1, `snapshot ` + notJSON + ` is corrupt`},
		{"bad field_names", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: good, EnvFieldNames: "utf8"}, 1, `field_names="utf8": "utf8" is neither "characters"`},
		{"truncated snapshot", "tahoe_storage_consumed", []string{"config"}, map[string]string{EnvStatsFile: truncated}, 1, "unterminated string"},
		{"snapshot is a directory", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: dir}, 1, "is a directory"},
		{"bad stale_after", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: good, EnvStaleAfter: "soon"}, 1, `stale_after="soon": not a number of seconds`},
		{"negative stale_after", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: good, EnvStaleAfter: "-5"}, 1, `negative`},
		{"bad graphs file", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: good, EnvGraphs: badGraphs}, 1, badGraphs + `:3,10-17: Invalid kind`},
		{"missing graphs file", "tahoe_storage_consumed", nil, map[string]string{EnvStatsFile: good, EnvGraphs: filepath.Join(dir, "nope.hcl")}, 1, "Cannot read graphs file"},
		{"multigraph without the capability", "statsherd_multigraph", nil, map[string]string{EnvStatsFile: good}, 1, "does not support multigraph"},
		{"unknown argument", "tahoe_storage_consumed", []string{"frobnicate"}, map[string]string{EnvStatsFile: good}, 1, `unknown argument "frobnicate"`},
		{"too many arguments", "tahoe_storage_consumed", []string{"config", "x"}, map[string]string{EnvStatsFile: good}, 1, "too many arguments"},
		{"suggest without snapshot", "tahoe_storage_consumed", []string{"suggest"}, nil, 1, "statsfile is not set"},
		{"command usage", "statsherd-munin", nil, nil, 2, "usage:"},
		{"unknown command", "statsherd-munin", []string{"frob"}, nil, 2, `unknown command "frob"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := Run(append([]string{"/etc/munin/plugins/" + tt.link}, tt.args...), envMap(tt.env), fixtureNow, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q\nwant it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestAutoconf(t *testing.T) {
	t.Parallel()
	grid := map[string]string{EnvStatsFile: "testdata/snapshots/grid.json"}
	tests := []struct {
		name, link string
		env        map[string]string
		want       string
	}{
		{"yes", "tahoe_storage_consumed", grid, "yes\n"},
		{"wildcard", "tahoe_", grid, "yes\n"},
		{"multigraph", "statsherd_multigraph", grid, "yes\n"},
		{"unknown graph", "tahoe_nosuch", grid, `no (unknown graph "tahoe_nosuch"`},
		{"wildcard of nothing", "nosuch_", grid, `no (unknown graph "nosuch_"`},
		{"no statsfile", "tahoe_storage_consumed", nil, "no (the environment variable statsfile is not set"},
		{"missing file", "tahoe_", map[string]string{EnvStatsFile: "testdata/nope.json"}, "no (reading snapshot: open testdata/nope.json: no such file"},
		{"bad field_names", "tahoe_storage_consumed", map[string]string{EnvStatsFile: "testdata/snapshots/grid.json", EnvFieldNames: "x"}, `no (environment variable field_names="x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := Run([]string{tt.link, "autoconf"}, envMap(tt.env), fixtureNow, &stdout, &stderr); code != 0 {
				t.Errorf("exit %d, want 0 (munin wants autoconf to exit 0)", code)
			}
			if !strings.HasPrefix(stdout.String(), tt.want) || strings.Count(stdout.String(), "\n") != 1 {
				t.Errorf("stdout %q, want one line starting %q", stdout.String(), tt.want)
			}
		})
	}
}

func TestInstallLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "bin", "statsherd-munin")
	plugins := filepath.Join(dir, "plugins")
	for _, d := range []string{filepath.Dir(target), plugins} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(target, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Run(append([]string{"/usr/bin/statsherd-munin", "install-links"}, args...), envMap(env), fixtureNow, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, _, errs := run(nil, "-target", filepath.Join(dir, "nope"), plugins); code != 1 || !strings.Contains(errs, "-target: stat "+filepath.Join(dir, "nope")+": no such file") {
		t.Errorf("missing target: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(nil, "-target", plugins, plugins); code != 1 || !strings.Contains(errs, "is not an executable file") {
		t.Errorf("directory as target: exit %d, stderr %q", code, errs)
	}
	if code, out, errs := run(nil, "-target", target, plugins); code != 0 || !strings.Contains(out, "restart munin-node") || errs != "" {
		t.Fatalf("install-links: exit %d: %s%s", code, out, errs)
	}
	entries, _ := os.ReadDir(plugins)
	if len(entries) != 26 {
		t.Errorf("%d links, want 26", len(entries))
	}
	if l, err := os.Readlink(filepath.Join(plugins, "tahoe_storage_bytes_added")); err != nil || l != target {
		t.Errorf("tahoe_storage_bytes_added -> %q, %v; want %s", l, err, target)
	}
	// Again: nothing changes; with operator graphs: two more.
	code, out, _ := run(map[string]string{EnvGraphs: "testdata/graphs.hcl"}, "-target", target, plugins)
	if code != 0 || strings.Count(out, "unchanged ") != 26 || strings.Count(out, "created ") != 2 || !strings.Contains(out, "restart munin-node") {
		t.Errorf("second run: exit %d:\n%s", code, out)
	}
	// Nothing to do: no restart needed.
	code, out, _ = run(nil, "-target", target, plugins)
	if code != 0 || strings.Contains(out, "restart") || !strings.Contains(out, "nothing changed") {
		t.Errorf("third run: exit %d:\n%s", code, out)
	}
	// A link to something else is kept unless -force.
	other := filepath.Join(plugins, "statsherd_multigraph")
	if err := os.Symlink("/bin/true", other); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(nil, "-multigraph", "-target", target, plugins); code != 1 || !strings.Contains(errs, "already links to /bin/true") {
		t.Errorf("without -force: exit %d, stderr %q", code, errs)
	}
	if code, out, errs := run(nil, "-multigraph", "-force", "-target", target, plugins); code != 0 || !strings.Contains(out, "replaced ") {
		t.Errorf("with -force: exit %d: %s%s", code, out, errs)
	}
	// Single links and the multigraph link in one directory: a warning,
	// either way round.
	for _, args := range [][]string{{"-multigraph", "-target", target, plugins}, {"-target", target, plugins}} {
		if code, _, errs := run(nil, args...); code != 0 || !strings.Contains(errs, "warning: "+plugins+" also has ") || !strings.Contains(errs, "feeding the same graphs twice") {
			t.Errorf("install-links %v beside the other kind: exit %d, stderr %q", args, code, errs)
		}
	}
	if l, _ := os.Readlink(other); l != target {
		t.Errorf("multigraph link -> %q, want %s", l, target)
	}
	// A regular file is never replaced.
	if err := os.Remove(filepath.Join(plugins, "tahoe_storage_consumed")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plugins, "tahoe_storage_consumed"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(nil, "-force", "-target", target, plugins); code != 1 || !strings.Contains(errs, "not a symlink") {
		t.Errorf("over a file: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(nil, "-target", target, filepath.Join(dir, "nodir")); code != 1 || !strings.Contains(errs, "plugin directory") {
		t.Errorf("missing dir: exit %d, stderr %q", code, errs)
	}
}

func TestGraphsCommand(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := Run([]string{"statsherd-munin", "graphs"}, envMap(map[string]string{EnvGraphs: "testdata/graphs.hcl"}), fixtureNow, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 28 {
		t.Errorf("%d graphs, want 28", len(lines))
	}
	if !strings.Contains(stdout.String(), "myapp_requests\tcounters\tuploader.files_uploaded\n") ||
		!strings.Contains(stdout.String(), "tahoe_storage_bytes_added\tcounters\tstorage_server.bytes_added\n") {
		t.Errorf("graphs output:\n%s", stdout.String())
	}
}

// TestCommandHelp: -h after any tool exits 0 with the usage on stdout; a
// mistake exits 2 with it on stderr.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0}, {[]string{"help"}, 0}, {[]string{"--help"}, 0},
		{[]string{"install-links", "-h"}, 0}, {[]string{"install-links", "-force", "-h"}, 0},
		{[]string{"graphs", "-h"}, 0}, {[]string{"version", "-h"}, 0},
		{[]string{"install-links"}, 2}, {[]string{"install-links", "-bogus", "dir"}, 2},
		{[]string{"graphs", "x"}, 2}, {[]string{"version", "x"}, 2}, {[]string{"bogus"}, 2},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Run(append([]string{"statsherd-munin"}, tt.args...), envMap(nil), fixtureNow, &stdout, &stderr)
			out := stdout.String()
			if code != 0 {
				out = stderr.String()
			}
			if code != tt.code || !strings.Contains(out, "statsherd-munin install-links [-multigraph]") {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
		})
	}
}
