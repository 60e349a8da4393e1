package gatherer_test

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/internal/testenv"
)

// TestE2ENoSilentIdentity: a base directory create-gatherer never made
// (a typo in a service file) is refused and left unmade; -create makes
// the identity and says so.
func TestE2ENoSilentIdentity(t *testing.T) {
	t.Parallel()
	typo := filepath.Join(t.TempDir(), "statsherd-gathrer")
	var stderr bytes.Buffer
	cmd := exec.Command(statsherd, "gatherer", "-basedir", typo)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("the gatherer started in a directory create-gatherer never made")
	}
	for _, want := range []string{typo + " is not a gatherer base directory", "statsherd create-gatherer " + typo, "-create"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), want)
		}
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Errorf("the refused base directory was made: %v", err)
	}

	p := start(t, "gatherer", "-basedir", typo, "-create")
	waitFor(t, "the furl's path", p.stderr.String, func() bool { return p.stdout.String() == filepath.Join(typo, basedir.FurlFile)+"\n" })
	if !strings.Contains(p.stderr.String(), "made a new gatherer identity") {
		t.Errorf("-create made an identity without saying so:\n%s", p.stderr.String())
	}
	// t.TempDir's directories are 0700: the gatherer says munin cannot
	// reach the snapshot, and what to do.
	for _, want := range []string{"munin cannot read the snapshot", filepath.Join(typo, "stats.json"), "(mode 0700) keeps others out: run chmod o+x " + os.TempDir()} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("the gatherer's log does not say %q:\n%s", want, p.stderr.String())
		}
	}
	if code := p.stop(syscall.SIGTERM); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.stderr.String())
	}
	// Made now: a plain start works and says nothing of a new identity.
	p = start(t, "gatherer", "-basedir", typo)
	waitFor(t, "the furl's path", p.stderr.String, func() bool { return p.stdout.String() == filepath.Join(typo, basedir.FurlFile)+"\n" })
	p.stop(syscall.SIGTERM)
	if strings.Contains(p.stderr.String(), "new gatherer identity") {
		t.Errorf("a second start claims a new identity:\n%s", p.stderr.String())
	}
}

// muninPluginUser is the user munin-node runs plugins as when
// plugin-conf.d names none: nobody (Debian's munin-node and munin-run).
const muninPluginUser = "nobody"

// TestLayoutAsMuninUser proves the default layout for real: under a base
// directory made by create-gatherer and a running gatherer, munin's
// plugin user reads the snapshot and cannot read the key, the secret or
// the furl. It runs cat as that user (setpriv), so it needs root; in CI
// it fails without.
func TestLayoutAsMuninUser(t *testing.T) {
	t.Parallel()
	setpriv, err := exec.LookPath("setpriv")
	if err == nil && os.Geteuid() != 0 {
		err = errNotRoot
	}
	var u *user.User
	if err == nil {
		u, err = user.Lookup(muninPluginUser)
	}
	if err != nil {
		testenv.Missing(t, "cannot run as munin's plugin user %s (needs root and setpriv): %v", muninPluginUser, err)
	}
	// A scratch root everyone may enter, as /var/lib is (t.TempDir makes
	// two levels of 0700 directories).
	root := t.TempDir()
	for _, d := range []string{root, filepath.Dir(root)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "var", "lib", "statsherd-gatherer")
	if out, err := exec.Command(statsherd, "create-gatherer", dir).CombinedOutput(); err != nil {
		t.Fatalf("create-gatherer: %v\n%s", err, out)
	}
	// The default gatherer.hcl, with quicker rounds and the status page
	// off its port.
	hcl, err := os.ReadFile(filepath.Join(dir, "gatherer.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	hcl = append(hcl, "poll_interval = \"200ms\"\nstatus { listen = \"127.0.0.1:0\" }\n"...)
	if err := os.WriteFile(filepath.Join(dir, "gatherer.hcl"), hcl, 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "gatherer", "-basedir", dir)
	snap := filepath.Join(dir, "stats.json")
	waitFor(t, "the snapshot", p.stderr.String, func() bool { _, err := os.Stat(snap); return err == nil })
	p.stop(syscall.SIGTERM)
	if strings.Contains(p.stderr.String(), "munin cannot read") {
		t.Errorf("the gatherer warns about the default layout:\n%s", p.stderr.String())
	}
	asMunin := func(path string) ([]byte, error) {
		cmd := exec.Command(setpriv, "--reuid="+u.Uid, "--regid="+u.Gid, "--clear-groups", "--", "cat", path)
		return cmd.CombinedOutput()
	}
	if out, err := asMunin(snap); err != nil || !bytes.HasPrefix(bytes.TrimSpace(out), []byte("{")) {
		t.Errorf("%s cannot read the snapshot %s: %v\n%s", muninPluginUser, snap, err, out)
	}
	for _, name := range []string{basedir.IdentityName + ".key", basedir.SecretFile, basedir.FurlFile} {
		path := filepath.Join(dir, name)
		out, err := asMunin(path)
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("%s reads %s: %v\n%s", muninPluginUser, path, err, out)
		}
	}
}

type notRoot struct{}

func (notRoot) Error() string { return "not running as root" }

var errNotRoot error = notRoot{}
