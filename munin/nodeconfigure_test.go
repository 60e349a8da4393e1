package munin

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMuninNodeConfigure runs Debian's munin-node-configure on a private
// munin config: with the wildcard link "tahoe_" in the plugin library,
// --suggest proposes a link for every graph that has data, --shell prints
// the commands that make them, and once they are made nothing more is
// proposed.
func TestMuninNodeConfigure(t *testing.T) {
	needMunin(t, "munin-node-configure")
	t.Parallel()
	l := newLab(t)
	lib := filepath.Join(l.dir, "lib")
	services := filepath.Join(l.dir, "services")
	for _, d := range []string{lib, services} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(pluginBin, filepath.Join(lib, "tahoe_")); err != nil {
		t.Fatal(err)
	}
	mnc, err := lookPath("munin-node-configure")
	if err != nil {
		t.Fatal(err)
	}
	configure := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(mnc, append([]string{"--config", l.nodeConf, "--servicedir", services, "--sconfdir", l.confd, "--libdir", lib}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("munin-node-configure %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// The graphs with data, as the plugin itself says.
	var want []string
	for _, g := range strings.Fields(l.expect(t, nil, "tahoe_storage_consumed", "suggest")) {
		if strings.HasPrefix(g, "tahoe_") {
			want = append(want, g)
		}
	}
	if len(want) < 5 {
		t.Fatalf("the lab snapshot has data for only %v", want)
	}

	suggest := configure("--suggest")
	var row string
	for _, line := range strings.Split(suggest, "\n") {
		if strings.HasPrefix(line, "tahoe_ ") {
			row = line
		}
	}
	if row == "" {
		t.Fatalf("munin-node-configure --suggest does not list tahoe_:\n%s", suggest)
	}
	var proposed []string
	for _, f := range strings.Fields(row) {
		if s, ok := strings.CutPrefix(strings.Trim(f, "()"), "+"); ok {
			proposed = append(proposed, "tahoe_"+s)
		}
	}
	if !strings.Contains(row, "| yes (") || !slices.Equal(proposed, want) {
		t.Errorf("munin-node-configure --suggest:\n%s\nwant yes and +%v", suggest, want)
	}

	shell := configure("--shell")
	var links []string
	for _, line := range strings.Split(strings.TrimSpace(shell), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "ln" || f[1] != "-s" || strings.Trim(f[2], "'") != filepath.Join(lib, "tahoe_") {
			t.Fatalf("munin-node-configure --shell printed %q", line)
		}
		link := strings.Trim(f[3], "'")
		if err := os.Symlink(filepath.Join(lib, "tahoe_"), link); err != nil {
			t.Fatal(err)
		}
		links = append(links, filepath.Base(link))
	}
	if !slices.Equal(links, want) {
		t.Errorf("munin-node-configure --shell links %v, want %v", links, want)
	}
	// The links it made work, through munin-run, as user nobody.
	mr, err := lookPath("munin-run")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(mr, "--config", l.nodeConf, "--servicedir", services, "--sconfdir", l.confd, "tahoe_storage_consumed").CombinedOutput()
	if err != nil || string(out) != l.expect(t, nil, "tahoe_storage_consumed") {
		t.Errorf("munin-run tahoe_storage_consumed through the suggested link: %v\n%s", err, out)
	}
	if again := configure("--shell"); strings.TrimSpace(again) != "" {
		t.Errorf("munin-node-configure --shell after linking still proposes:\n%s", again)
	}
}
