package layering

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/statsherd/statsherd"

// The layers, lowest first.
const (
	base = iota
	plugin
	runtime
	catalog
	command
	mains
)

var layerNames = []string{"base", "plugin", "runtime", "catalog", "command", "main"}

// runtimePkgs are the generic runtime's packages outside host/ and gatherer/.
var runtimePkgs = map[string]bool{
	"config":              true,
	"internal/supervisor": true,
	"internal/identity":   true,
	"internal/link":       true,
	"internal/statuspage": true,
}

// testSupport are the packages only tests import: they may stand on any
// layer below the command (plugindoc decodes an example.hcl exactly as the
// daemons do, with config), and no package but another of them may import
// them.
var testSupport = map[string]bool{
	"internal/plugindoc":              true,
	"internal/testbin":                true,
	"internal/testenv":                true,
	"outputs/internal/fleettest":      true,
	"producers/internal/producertest": true,
	"sdk/plugintest":                  true,
}

// daemonPkg is the sdk's package for statsherd's own daemons (their
// plugin client's set-up, the codec that keeps a host's stats encoded for
// the outputs): only the runtime may import it, and sdk/plugintest.
const daemonPkg = "sdk/daemon"

// gathererRooms are the gatherer's subpackages, each with the rooms it
// may import: the root (gatherer) composes them, and no room imports the
// root or a room not listed for it. A new room is added here.
var gathererRooms = map[string][]string{
	"gatherer/admission": {"gatherer/refusal", "gatherer/registry"},
	"gatherer/basedir":   nil,
	"gatherer/control":   {"gatherer/basedir", "gatherer/registry"},
	"gatherer/fanout":    nil,
	"gatherer/poll":      {"gatherer/admission", "gatherer/refusal", "gatherer/registry", "gatherer/status"},
	"gatherer/refusal":   nil,
	"gatherer/registry":  {"gatherer/basedir", "gatherer/refusal"},
	"gatherer/status":    {"gatherer/fanout", "gatherer/refusal", "gatherer/registry"},
}

// gathererRoom checks an import between two of the gatherer's packages;
// checked is false for any other import.
func gathererRoom(from, to string) (checked, allowed bool, why string) {
	inGatherer := func(p string) bool { return p == "gatherer" || strings.HasPrefix(p, "gatherer/") }
	if !inGatherer(from) || !inGatherer(to) {
		return false, false, ""
	}
	for _, p := range []string{from, to} {
		if _, ok := gathererRooms[p]; !ok && p != "gatherer" {
			return true, false, fmt.Sprintf("%s is no room of the gatherer: add it to gathererRooms in internal/layering", p)
		}
	}
	if from == "gatherer" {
		return true, true, ""
	}
	if to == "gatherer" {
		return true, false, fmt.Sprintf("%s imports the gatherer's root: a room is wired by the root, never the other way", from)
	}
	if slices.Contains(gathererRooms[from], to) {
		return true, true, ""
	}
	return true, false, fmt.Sprintf("%s imports %s: the gatherer's rooms import only those listed for them in gathererRooms (%s: %v)", from, to, from, gathererRooms[from])
}

// exceptions are imports allowed against the layers, each with its reason.
var exceptions = map[[2]string]string{
	// The load tool plays thousands of hosts on the wire: it answers
	// polls with stats in their wire form, as the host does.
	{"internal/loadgen", daemonPkg}: "the load tool answers polls as a host does",
}

// place returns pkg's layer and, for a plugin, its root (the folder users
// name in HCL, or "munin"); ok is false for a package the table misses.
func place(pkg string) (layer int, root string, ok bool) {
	first, rest, _ := strings.Cut(pkg, "/")
	switch {
	case first == "cmd" || first == "examples":
		return mains, "", true
	case pkg == "cli" || pkg == "internal/loadgen":
		return command, "", true
	case pkg == "internal/builtin":
		return catalog, "", true
	case first == "host" || first == "gatherer" || runtimePkgs[pkg]:
		return runtime, "", true
	case first == "sdk" || first == "internal":
		return base, "", true
	case first == "munin":
		return plugin, "munin", true
	case first == "producers" || first == "outputs":
		name, _, _ := strings.Cut(rest, "/")
		if name == "internal" {
			// Helpers shared by one family of plugins: a plugin of the
			// family may import them, nothing else.
			return plugin, first + "/internal", true
		}
		return plugin, first + "/" + name, true
	case first == "packaging":
		return mains, "", true
	}
	return 0, "", false
}

// allowed says whether from may import to, and if not, why.
func allowed(from, to string) (bool, string) {
	if _, ok := exceptions[[2]string{from, to}]; ok {
		return true, ""
	}
	if to == daemonPkg {
		if l, _, ok := place(from); ok && l == runtime || from == "sdk/plugintest" {
			return true, "" // plugintest plays the daemon's side of a plugin's tests
		}
		return false, fmt.Sprintf("%s imports %s, which is for the daemons alone (host, gatherer and the runtime): a plugin, a command or an example is written on the sdk as a third party would", from, to)
	}
	if checked, ok, why := gathererRoom(from, to); checked {
		return ok, why
	}
	if testSupport[to] && !testSupport[from] {
		return false, fmt.Sprintf("%s imports %s, which only tests may import", from, to)
	}
	if testSupport[from] {
		if l, _, ok := place(to); ok && l < catalog || testSupport[to] {
			return true, ""
		}
		return false, fmt.Sprintf("test support %s imports %s: it may stand on the base, the plugins and the runtime", from, to)
	}
	lf, rf, ok := place(from)
	if !ok {
		return false, fmt.Sprintf("%s is in no layer: add it to place() in internal/layering", from)
	}
	lt, rt, ok := place(to)
	if !ok {
		return false, fmt.Sprintf("%s is in no layer: add it to place() in internal/layering", to)
	}
	switch {
	case lt < lf && lt == plugin && lf == runtime:
		return false, fmt.Sprintf("the runtime (%s) imports the plugin %s: the command picks the plugins and hands them down", from, to)
	case lt < lf:
		return true, ""
	case lt == lf && (lf == base || lf == runtime || lf == mains):
		return true, ""
	case lt == lf && lf == plugin:
		if rf == rt {
			return true, ""
		}
		if fam, _, _ := strings.Cut(rf, "/"); rt == fam+"/internal" {
			return true, ""
		}
		return false, fmt.Sprintf("plugin %s imports %s: a plugin is written as a third party would write it, on the sdk alone", rf, to)
	}
	return false, fmt.Sprintf("%s (%s) imports %s (%s): imports point down the layers", from, layerNames[lf], to, layerNames[lt])
}

func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		from := strings.TrimPrefix(f[0], module+"/")
		for _, imp := range f[1:] {
			to, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			n++
			if ok, why := allowed(from, to); !ok {
				t.Errorf("%s → %s: %s", from, to, why)
			}
		}
	}
	if n < 50 {
		t.Fatalf("go list showed only %d imports inside the module: it did not list the tree", n)
	}
}

// The rules themselves, on imports the tree must never grow.
func TestLayerRules(t *testing.T) {
	for _, tt := range []struct {
		from, to string
		ok       bool
	}{
		{"internal/supervisor", "internal/builtin", false},
		{"host", "producers/uptime", false},
		{"gatherer", "munin", false},
		{"producers/exec", "host", false},
		{"producers/exec", "producers/uptime", false},
		{"producers/exec", "config", false},
		{"munin", "outputs/internal/promname", false},
		{"sdk", "config", false},
		{"internal/wire", "gatherer", false},
		{"config", "cli", false},
		{"cli", "cmd/statsherd", false},
		{"producers/brand_new", "sdk", true},
		{"outputs/remote_write", "outputs/internal/promname", true},
		{"outputs/remote_write", "outputs/remote_write/queue", true},
		{"munin/plugin", "munin/snapshot", true},
		{"internal/builtin", "producers/uptime", true},
		{"cli", "internal/builtin", true},
		{"host", "internal/supervisor", true},
		{"gatherer", "config", true},
		{"cmd/statsherd", "cli", true},
		{"nowhere", "sdk", false},
		{"internal/plugindoc", "config", true},
		{"producers/internal/producertest", "internal/plugindoc", true},
		{"host", "internal/testenv", false},
		{"internal/plugindoc", "cli", false},
		{"gatherer", "sdk/daemon", true},
		{"gatherer/status", "sdk/daemon", true},
		{"host", "sdk/daemon", true},
		{"internal/supervisor", "sdk/daemon", true},
		{"producers/exec", "sdk/daemon", false},
		{"outputs/prometheus", "sdk/daemon", false},
		{"munin", "sdk/daemon", false},
		{"examples/example-output", "sdk/daemon", false},
		{"cli", "sdk/daemon", false},
		{"producers/internal/producertest", "sdk/daemon", false},
		{"internal/wire", "sdk/daemon", false},
		{"internal/loadgen", "sdk/daemon", true},
		{"sdk/plugintest", "sdk/daemon", true},
		{"sdk/report", "sdk/daemon", false},
		{"gatherer", "gatherer/fanout", true},
		{"gatherer/fanout", "gatherer", false},
		{"gatherer/nowhere", "sdk", true},
		{"gatherer/nowhere", "gatherer/fanout", false},
		{"gatherer/status", "gatherer/admission", false},
		{"gatherer/status", "gatherer/registry", true},
		{"gatherer/registry", "gatherer/status", false},
	} {
		if ok, why := allowed(tt.from, tt.to); ok != tt.ok {
			t.Errorf("allowed(%s → %s) = %v (%s), want %v", tt.from, tt.to, ok, why, tt.ok)
		}
	}
}

// Node software that only counts (sdk/report, the Tahoe node example) must
// not link gRPC or go-plugin: the client depends on sdk/stat alone.
func TestNodeClientLinksNoRPC(t *testing.T) {
	for _, pkg := range []string{module + "/sdk/report", module + "/examples/tahoe-node"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed only %v", pkg, deps)
		}
		for _, d := range deps {
			if strings.HasPrefix(d, "google.golang.org/grpc") || strings.HasPrefix(d, "github.com/hashicorp/go-plugin") ||
				d == module+"/sdk" || d == module+"/sdk/proto" {
				t.Errorf("%s links %s", pkg, d)
			}
		}
	}
}
