package packaging_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/internal/testbin"
	"github.com/statsherd/statsherd/internal/testenv"
)

// need finds a program a test needs (testenv.LookPath).
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	return testenv.LookPath(t, name, pkg)
}

// needRoot: the test runs programs as other users.
func needRoot(t *testing.T, why string) {
	t.Helper()
	testenv.NeedRoot(t, why)
}

// makeInstall runs `make install` from the module root with vars, binaries
// built into a directory of the test's own.
func makeInstall(t *testing.T, vars ...string) {
	t.Helper()
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-s", "install", "BIN=" + t.TempDir()}, vars...)
	cmd := exec.Command("make", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestInstall installs into a scratch PREFIX (so the units' ExecStart
// exists, as systemd-analyze verify demands), checks what landed where,
// and verifies the units with the machine's systemd.
func TestInstall(t *testing.T) {
	t.Parallel()
	analyze := need(t, "systemd-analyze", "systemd")
	r := t.TempDir()
	makeInstall(t, "PREFIX="+r+"/usr", "SYSCONFDIR="+r+"/etc", "LOCALSTATEDIR="+r+"/var")
	for path, mode := range map[string]os.FileMode{
		"usr/bin/statsherd":                                    0o755,
		"usr/bin/statsherd-munin":                              0o755,
		"usr/lib/systemd/system/statsherd-gatherer.service":    0o644,
		"usr/lib/systemd/system/statsherd-host.service":        0o644,
		"usr/lib/systemd/system/statsherd-host@.service":       0o644,
		"usr/lib/sysusers.d/statsherd.conf":                    0o644,
		"etc/munin/plugin-conf.d/statsherd":                    0o644,
		"usr/share/statsherd/examples/host.hcl":                0o644,
		"usr/share/statsherd/examples/producer-disk.hcl":       0o644,
		"usr/share/statsherd/examples/output-remote_write.hcl": 0o644,
		"usr/share/statsherd/munin/system.hcl":                 0o644,
	} {
		fi, err := os.Stat(filepath.Join(r, path))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v (%v), want mode %04o", path, fi, err, mode)
		}
	}
	// The binaries are this build's.
	if out, err := exec.Command(filepath.Join(r, "usr/bin/statsherd"), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "statsherd ") {
		t.Errorf("installed statsherd version: %v\n%s", err, out)
	}
	// munin's file names the gatherer's snapshot under LOCALSTATEDIR.
	conf, _ := os.ReadFile(filepath.Join(r, "etc/munin/plugin-conf.d/statsherd"))
	if want := "env.statsfile " + r + "/var/lib/statsherd-gatherer/stats.json"; strings.Count(string(conf), want) != 3 {
		t.Errorf("plugin-conf.d/statsherd does not name %q in its 3 sections:\n%s", want, conf)
	}
	if want := "env.graphs " + r + "/usr/share/statsherd/munin/system.hcl\n"; !strings.Contains(string(conf), want) {
		t.Errorf("plugin-conf.d/statsherd does not name %q:\n%s", want, conf)
	}

	units := map[string][]string{
		"statsherd-gatherer.service": {
			"ExecStart=" + r + "/usr/bin/statsherd gatherer -basedir " + r + "/var/lib/statsherd-gatherer\n",
			"StateDirectory=statsherd-gatherer\n", "StateDirectoryMode=0755\n",
			"ExecReload=/bin/kill -HUP $MAINPID\n",
		},
		"statsherd-host@.service": {
			"ExecStart=" + r + "/usr/bin/statsherd host -config " + r + "/etc/statsherd/%i.hcl\n",
			"ConfigurationDirectory=statsherd\n", "StateDirectory=statsherd/%i\n",
			"ExecReload=/bin/kill -HUP $MAINPID\n",
		},
		"statsherd-host.service": {
			"ExecStart=" + r + "/usr/bin/statsherd host -config " + r + "/etc/statsherd/host.hcl\n",
			"ConfigurationDirectory=statsherd\n", "StateDirectory=statsherd\n",
			"ExecReload=/bin/kill -HUP $MAINPID\n",
		},
	}
	common := []string{"User=statsherd\n", "Group=statsherd\n", "Restart=on-failure\n", "NoNewPrivileges=yes\n",
		"ProtectSystem=strict\n", "ProtectHome=", "PrivateTmp=yes\n", "CapabilityBoundingSet=\n", "WantedBy=multi-user.target\n"}
	var paths []string
	for name, want := range units {
		path := filepath.Join(r, "usr/lib/systemd/system", name)
		paths = append(paths, path)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "@") && strings.Contains(string(b), "DIR@") {
			t.Errorf("%s keeps a template variable:\n%s", name, b)
		}
		for _, w := range append(want, common...) {
			if !strings.Contains(string(b), "\n"+w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
	// systemd-analyze verify: exit 0 and not a word about our units (it
	// only warns on unknown keys and the like). It also loads the units
	// ours refer to, and the machine's other packages may bring units it
	// warns about (graphite-carbon's StandardOutput=syslog): those lines
	// are not ours to judge.
	var out bytes.Buffer
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ours []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "statsherd") {
			ours = append(ours, line)
		}
	}
	if err != nil || len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out.String())
	}
}
