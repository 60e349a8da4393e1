package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/statsherd/statsherd/internal/testenv"
)

// TestGathererNodeCommands: the node commands check their arguments, and
// with no gatherer running they act on the base directory's files.
func TestGathererNodeCommands(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "g")
	if _, stderr, code := run(t, "create-gatherer", dir); code != 0 {
		t.Fatalf("create-gatherer: %s", stderr)
	}
	id := strings.Repeat("b", 32)
	notGatherer := t.TempDir()
	for _, tt := range []struct {
		name       string
		args       []string
		code       int
		out, errln string
	}{
		{"approve without id", []string{"gatherer", "approve", "-basedir", dir}, 2, "", "missing ID"},
		{"nodes with an id", []string{"gatherer", "nodes", id, "-basedir", dir}, 2, "", "unexpected argument"},
		{"no basedir", []string{"gatherer", "nodes"}, 2, "", "usage: statsherd gatherer nodes"},
		{"bad id", []string{"gatherer", "revoke", "nope", "-basedir", dir}, 1, "", "is not a node id"},
		{"approve unknown", []string{"gatherer", "approve", id, "-basedir", dir}, 1, "", "is not known"},
		{"revoke offline", []string{"gatherer", "revoke", id, "-basedir", dir}, 0, "", "no gatherer running"},
		{"id after the flags", []string{"gatherer", "revoke", "-basedir", dir, id}, 0, "", "revoked node " + id},
		{"listed", []string{"gatherer", "nodes", "-basedir", dir}, 0, "revoked   " + id, ""},
		{"nodes on a typo", []string{"gatherer", "nodes", "-basedir", dir + "x"}, 1, "", "is not a gatherer base directory"},
		{"rotate on a plain directory", []string{"gatherer", "rotate-secret", "-basedir", notGatherer}, 1, "", "statsherd create-gatherer " + notGatherer},
		{"revoke on a plain directory", []string{"gatherer", "revoke", id, "-basedir", notGatherer}, 1, "", "is not a gatherer base directory"},
		{"rotate offline", []string{"gatherer", "rotate-secret", "-basedir", dir}, 0, "pb://", "new secret written"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tt.args...)
			if code != tt.code || !strings.Contains(stdout, tt.out) || !strings.Contains(stderr, tt.errln) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant %q / %q", code, tt.code, stdout, stderr, tt.out, tt.errln)
			}
			if left, _ := os.ReadDir(notGatherer); len(left) != 0 {
				t.Errorf("a directory that is not a gatherer's got %v", left)
			}
		})
	}
}

// TestGathererNodeCommandsOfflineAsAnotherUser: with no gatherer running,
// root acting on a base directory owned by another user (the service's)
// is refused and creates nothing there: root-owned 0600 files would keep
// the gatherer from starting ("reading secret: permission denied").
func TestGathererNodeCommandsOfflineAsAnotherUser(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t, "it gives a gatherer's files to user nobody")
	dir := filepath.Join(t.TempDir(), "g")
	if _, stderr, code := run(t, "create-gatherer", dir); code != 0 {
		t.Fatalf("create-gatherer: %s", stderr)
	}
	const nobody = 65534
	entries, _ := os.ReadDir(dir)
	for _, e := range append(entries, nil) {
		p := dir
		if e != nil {
			p = filepath.Join(dir, e.Name())
		}
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"gatherer", "nodes", "-basedir", dir},
		{"gatherer", "rotate-secret", "-basedir", dir},
		{"gatherer", "revoke", strings.Repeat("b", 32), "-basedir", dir},
	} {
		_, stderr, code := run(t, args...)
		if code != 1 || !strings.Contains(stderr, "run it as that user") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	after, _ := os.ReadDir(dir)
	for _, e := range after {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != nobody {
			t.Errorf("%s is owned by uid %d, not the gatherer's user", e.Name(), uid)
		}
	}
	if len(after) != len(entries) {
		t.Errorf("the commands added files: %d before, %d after", len(entries), len(after))
	}
}

// TestCreateGathererInAnotherUsersDirectory: root's create-gatherer in the
// service user's (empty) base directory, as the .deb makes it, is refused
// and makes nothing: the gatherer, running as that user, could not read a
// key and secret of root's.
func TestCreateGathererInAnotherUsersDirectory(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t, "it gives a directory to user nobody")
	dir := filepath.Join(t.TempDir(), "g")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "create-gatherer", dir)
	if code != 1 || !strings.Contains(stderr, "runuser -u") {
		t.Errorf("create-gatherer as root in nobody's directory: exit %d, stderr %q", code, stderr)
	}
	// gatherer -create, with an output that cannot start, so that the
	// gatherer stops even if it made its identity.
	conf := filepath.Join(dir, "gatherer.hcl")
	if err := os.WriteFile(conf, []byte("status { listen = \"\" }\noutput \"x\" { plugin = \"/nonexistent\" }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(conf, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = run(t, "gatherer", "-create", "-basedir", dir)
	if code != 1 || !strings.Contains(stderr, "runuser -u") {
		t.Errorf("gatherer -create as root in nobody's directory: exit %d, stderr %q", code, stderr)
	}
	if err := os.Remove(conf); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("it left %v", left)
	}
}
