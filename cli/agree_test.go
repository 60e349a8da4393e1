package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

// TestValidateAgreesWithTheDaemons runs every config of testdata/agree
// (host and gatherer files, good and bad, built-in and third-party
// plugins) through `statsherd validate` and through the daemon itself,
// and checks they agree: validate accepts exactly the files the daemon
// runs on. The files' names say what each expects (-good- or -bad-), so
// the corpus also checks both against the intent. {{dir}} is a scratch
// directory, {{gdir}} a gatherer base directory made by create-gatherer,
// {{dircount}} and {{jsonl}} the example plugins built from the tree.
func TestValidateAgreesWithTheDaemons(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/agree/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("the corpus has %d configs, want at least 20", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".hcl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			kind, _, _ := strings.Cut(name, "-")
			want := strings.Contains(name, "-good-")
			dir, err := os.MkdirTemp("", "agree") // short: unix socket paths are limited
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if err := os.WriteFile(filepath.Join(dir, "corrupt.json"), []byte("{"), 0o644); err != nil {
				t.Fatal(err)
			}
			gdir := filepath.Join(dir, "g")
			if kind == "gatherer" {
				if out, err := exec.Command(statsherd, "create-gatherer", gdir).CombinedOutput(); err != nil {
					t.Fatalf("create-gatherer: %v\n%s", err, out)
				}
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			conf := strings.NewReplacer("{{dir}}", dir, "{{gdir}}", gdir, "{{dircount}}", dirCount, "{{jsonl}}", jsonl).Replace(string(src))
			path := filepath.Join(dir, kind+".hcl")
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}

			vout, verr, vcode := run(t, "validate", "-kind", kind, path)
			valid := vcode == 0
			if !valid && vcode != 1 {
				t.Fatalf("validate exit %d, want 0 or 1\n%s%s", vcode, vout, verr)
			}
			runs, dlog := daemonRuns(t, kind, path, gdir)
			if valid != runs {
				t.Errorf("validate and the daemon disagree: validate exit %d, daemon runs: %v\nvalidate:\n%s%s\ndaemon:\n%s", vcode, runs, vout, verr, dlog)
			}
			if valid != want {
				t.Errorf("validate exit %d for a %s config:\n%s%s", vcode, map[bool]string{true: "good", false: "bad"}[want], vout, verr)
			}
			if !valid && !strings.Contains(verr, path+": ") || !valid && !strings.Contains(verr, " error") {
				t.Errorf("validate refused without an 'N errors' summary line:\n%s", verr)
			}
			if name == "host-bad-two-errors" && !strings.Contains(verr, path+": 2 errors") {
				t.Errorf("validate did not report both mistakes at once:\n%s", verr)
			}
		})
	}
}

// daemonRuns starts the daemon of kind on path and reports whether it
// runs (is up and serving within a while) or refuses the file (exits),
// with its log.
func daemonRuns(t *testing.T, kind, path, gdir string) (bool, string) {
	t.Helper()
	var cmd *exec.Cmd
	var ready func(log string) bool
	switch kind {
	case "host":
		cmd = exec.Command(statsherd, "host", "-config", path)
		basedir := filepath.Join(filepath.Dir(path), "host")
		ready = func(string) bool {
			_, err := os.Stat(filepath.Join(basedir, "status.url"))
			return err == nil
		}
	case "gatherer":
		cmd = exec.Command(statsherd, "gatherer", "-basedir", gdir, "-config", path)
		ready = func(log string) bool { return strings.Contains(log, "gatherer listening") }
	default:
		t.Fatalf("a corpus file's name starts with host- or gatherer-, not %q", kind)
	}
	var out testbin.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() {
		if !testbin.Stop(cmd.Process, done, syscall.SIGTERM, 20*time.Second) {
			t.Errorf("the %s did not stop on SIGTERM:\n%s", kind, out.String())
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return false, out.String()
		case <-time.After(50 * time.Millisecond):
		}
		if ready(out.String()) {
			return true, out.String()
		}
	}
	t.Fatalf("the %s neither ran nor exited within 60 s:\n%s", kind, out.String())
	return false, ""
}

// TestLogFormatJSON: with log_format = "json" both daemons log one JSON
// object a line (hclog's: @level, @message, @module), from start to stop.
func TestLogFormatJSON(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"host", "gatherer"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dir, err := os.MkdirTemp("", "logjson")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			gdir := filepath.Join(dir, "g")
			conf := `log_format = "json"
basedir = "` + dir + `/host"
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "uptime" {}
`
			if kind == "gatherer" {
				if out, err := exec.Command(statsherd, "create-gatherer", gdir).CombinedOutput(); err != nil {
					t.Fatalf("create-gatherer: %v\n%s", err, out)
				}
				conf = `log_format = "json"
basedir = "` + gdir + `"
listen {
  address  = "127.0.0.1"
  location = ["127.0.0.1"]
}
status { listen = "" }
`
			}
			path := filepath.Join(dir, kind+".hcl")
			if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			runs, log := daemonRuns(t, kind, path, gdir)
			if !runs {
				t.Fatalf("the %s did not run:\n%s", kind, log)
			}
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
				if kind == "gatherer" && line == filepath.Join(gdir, "stats_gatherer.furl") {
					continue // stdout: the furl's path
				}
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["@message"] == nil || rec["@level"] == nil {
					t.Errorf("not an hclog JSON line: %q", line)
				}
				n++
			}
			if n == 0 {
				t.Errorf("the %s logged nothing", kind)
			}
		})
	}
}

// TestInclude: include adds the producers of the files its patterns
// match (in name order), and a mistake in an included file is reported
// at its own file:line, by validate and by the daemon alike.
func TestInclude(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "incl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	write := func(name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("host.hcl", `basedir = "`+dir+`/host"
include = ["host.d/*.hcl"]
reporting {
  statsd = ""
  socket = ""
}
status { listen = "127.0.0.1:0" }
producer "uptime" {}
`)
	write("host.d/10-load.hcl", "producer \"load_monitor\" {}\n")
	write("host.d/20-disk.hcl", "# dropped in by configuration management\nproducer \"disk\" { path = \""+dir+"\" }\n")
	path := filepath.Join(dir, "host.hcl")
	out, errOut, code := run(t, "validate", path)
	if code != 0 || !strings.Contains(out, "(3 plugin(s) checked)") {
		t.Fatalf("validate with includes: exit %d\n%s%s", code, out, errOut)
	}
	if runs, log := daemonRuns(t, "host", path, ""); !runs {
		t.Fatalf("the host refused the file with includes:\n%s", log)
	}

	// Mistakes in included files: each at its file:line.
	write("host.d/30-bad.hcl", "producer \"cpu_monitor\" {\n  interval = \"1ms\"\n}\nnickname = \"not here\"\n")
	write("host.d/40-dup.hcl", "\nproducer \"disk\" { path = \"/\" }\n")
	_, errOut, code = run(t, "validate", path)
	for _, want := range []string{
		filepath.Join(dir, "host.d/30-bad.hcl") + ":1,", // cpu_monitor's Configure refuses the interval
		filepath.Join(dir, "host.d/30-bad.hcl") + ":4,", // a file of producers only
		filepath.Join(dir, "host.d/40-dup.hcl") + ":2,", // disk is 20-disk.hcl's
		path + ": 3 errors",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate does not say %q:\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Errorf("validate exit %d, want 1", code)
	}
	if runs, log := daemonRuns(t, "host", path, ""); runs || !strings.Contains(log, "host.d/40-dup.hcl:2,") {
		t.Errorf("the host ran on a file whose includes are wrong, or did not point into them:\n%s", log)
	}
}
