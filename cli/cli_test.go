package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/cli"
	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/sdk"
)

// statsherd is the binary built from the working tree in TestMain, with
// the third-party example plugins (built from examples/).
var statsherd, dirCount, jsonl string

func TestMain(m *testing.M) {
	os.Exit(testbin.Main(m, testbin.Target{Path: &statsherd, Pkg: "./cmd/statsherd"},
		testbin.Target{Path: &dirCount, Pkg: "./examples/example-producer"},
		testbin.Target{Path: &jsonl, Pkg: "./examples/example-output"}))
}

// run runs the built statsherd with a PATH whose only statsherd is a decoy
// that records being run, so a test fails if anything runs an installed
// binary instead of the one built from the tree.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runIn(t, "", args...)
}

// runIn is run in the directory dir ("": this package's).
func runIn(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	decoyDir := t.TempDir()
	marker := filepath.Join(decoyDir, "decoy-ran")
	decoy := fmt.Sprintf("#!/bin/sh\ntouch %q\nexit 1\n", marker)
	for _, name := range []string{"statsherd", "statsherd-munin"} {
		if err := os.WriteFile(filepath.Join(decoyDir, name), []byte(decoy), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(statsherd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+decoyDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("running statsherd %v: %v", args, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("statsherd %v ran a statsherd found on $PATH instead of the one built from the tree", args)
	}
	return out.String(), errb.String(), code
}

func TestBinaryIsBuiltFromTheTree(t *testing.T) {
	out, _, code := run(t, "version")
	if code != 0 || !strings.Contains(out, "stamp "+testbin.Stamp) {
		t.Fatalf("version = %q (exit %d); want this build's stamp %s", out, code, testbin.Stamp)
	}
	// Built-in plugins are served by the same binary, not one on $PATH:
	// validate starts them (run fails if the decoy on $PATH ran).
	out, errOut, code := run(t, "validate", "testdata/good-host.hcl")
	if code != 0 {
		t.Fatalf("validate good file: exit %d\n%s%s", code, out, errOut)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name, file string
		code       int
		want       []string
	}{
		{"good", "testdata/good-host.hcl", 0, []string{"valid host configuration (1 plugin(s) checked)"}},
		{"unknown attribute in a plugin block", "testdata/bad-attr-host.hcl", 1,
			[]string{"testdata/bad-attr-host.hcl:4,3-9", "Unsupported argument", "colour"}},
		{"good gatherer", "testdata/good-gatherer.hcl", 0, []string{"valid gatherer configuration (1 plugin(s) checked)"}},
		{"bad gatherer", "testdata/bad-gatherer.hcl", 1, []string{"testdata/bad-gatherer.hcl:1,17-23: Invalid duration"}},
		{"missing file", "testdata/nonexistent.hcl", 1, []string{"nonexistent.hcl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(t, "validate", tt.file)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

func TestPluginDescribe(t *testing.T) {
	out, errOut, code := run(t, "plugin", "describe")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d sdk.Description
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("describe output is not JSON: %v\n%s", err, out)
	}
	found := false
	for _, p := range d.Producers {
		if p.Name == "uptime" {
			found = true
		}
	}
	if !found {
		t.Errorf("describe lists no uptime producer: %+v", d.Producers)
	}
	// Durations as HCL writes them: cpu_monitor's interval is "60s".
	durations := 0
	for _, in := range append(d.Producers, d.Outputs...) {
		for _, a := range in.Config {
			if a.Type != sdk.Duration || a.Default == nil {
				continue
			}
			durations++
			s, ok := a.Default.(string)
			if _, err := time.ParseDuration(s); !ok || err != nil {
				t.Errorf("%s: default of %s is %v (%T); want a duration as HCL writes it", in.Name, a.Name, a.Default, a.Default)
			}
			if in.Name == "cpu_monitor" && a.Name == "interval" && s != "60s" {
				t.Errorf("cpu_monitor interval default = %q, want \"60s\"", s)
			}
		}
	}
	if durations == 0 {
		t.Error("describe shows no duration defaults; the check above checked nothing")
	}
}

// TestHelpAndMistakesFromTheBinary runs the built binary: help on stdout
// with exit 0, mistakes on stderr with exit 2, a missing file said plainly.
func TestHelpAndMistakesFromTheBinary(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name         string
		args         []string
		code         int
		stdout, want string // stdout's start; stderr, exactly unless "…" ends it
	}{
		{"help", []string{"help", "gatherer"}, 0, "usage: statsherd gatherer", ""},
		{"-h", []string{"host", "id", "-h"}, 0, "usage: statsherd host id", ""},
		{"--help", []string{"--help"}, 0, "usage: statsherd COMMAND", ""},
		{"surplus", []string{"host", "-config", "h.hcl", "extra"}, 2, "",
			`statsherd host: unexpected argument "extra" (statsherd host takes no arguments)` + "\n…"},
		{"no host.hcl", []string{"host"}, 1, "", "error: cannot read host.hcl: no such file or directory\n"},
		{"no host.hcl for id", []string{"host", "id"}, 1, "", "error: cannot read host.hcl: no such file or directory\n"},
		{"no gatherer file", []string{"gatherer", "-config", "g.hcl"}, 1, "", "error: cannot read g.hcl: no such file or directory\n"},
		{"no file to validate", []string{"validate", "v.hcl"}, 1, "", "error: cannot read v.hcl: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runIn(t, dir, tt.args...)
			okErr := errOut == tt.want
			if prefix, cut := strings.CutSuffix(tt.want, "…"); cut {
				okErr = strings.HasPrefix(errOut, prefix)
			}
			if code != tt.code || !strings.HasPrefix(out, tt.stdout) || (tt.stdout == "") != (out == "") || !okErr {
				t.Errorf("statsherd %s: exit %d, stdout %q, stderr %q; want exit %d, stdout starting %q, stderr %q",
					strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.stdout, tt.want)
			}
		})
	}
}

func TestPluginServeByHand(t *testing.T) {
	_, errOut, code := run(t, "plugin", "serve", "producer", "uptime")
	if code != 1 || !strings.Contains(errOut, "not by hand") || !strings.Contains(errOut, "statsherd plugin describe") {
		t.Errorf("serving by hand: exit %d, stderr %q (want it to point at 'statsherd plugin describe')", code, errOut)
	}
	_, errOut, code = run(t, "plugin", "serve", "producer", "nope")
	if code != 1 || !strings.Contains(errOut, `no built-in producer named "nope"`) {
		t.Errorf("unknown plugin: exit %d, stderr %q", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 {
		t.Errorf("unknown command: exit %d", code)
	}
	if !strings.Contains(errb.String(), `unknown command "frobnicate"`) || !strings.Contains(errb.String(), "validate") {
		t.Errorf("usage = %q", errb.String())
	}
}

// TestValidateShippedExamples: every example file that make install ships
// (producers/*/example.hcl, outputs/*/example.hcl) passes 'statsherd
// validate' as it stands, plugins included.
func TestValidateShippedExamples(t *testing.T) {
	t.Parallel()
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, glob := range []string{"producers/*/example.hcl", "outputs/*/example.hcl"} {
		m, err := filepath.Glob(filepath.Join(root, glob))
		if err != nil || len(m) == 0 {
			t.Fatalf("no %s in %s (%v)", glob, root, err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runIn(t, root, "validate", rel)
			if code != 0 || !strings.Contains(out+errOut, "valid ") {
				t.Errorf("statsherd validate %s: exit %d\n%s%s", rel, code, out, errOut)
			}
		})
	}
}
