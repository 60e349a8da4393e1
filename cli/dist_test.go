package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/internal/testbin"
)

// TestDistBuildsWithoutGit makes a source archive of the committed tree,
// builds it where there is no .git, and checks the binary reports the
// release version written into the archive.
func TestDistBuildsWithoutGit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a source archive: skipped with -short")
	}
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout: make dist needs one")
	}
	dir := t.TempDir()
	const release = "9.8.7-disttest"
	mk := exec.Command("make", "-s", "dist", "RELEASE="+release, "DISTDIR="+dir)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	tar := exec.Command("tar", "-xzf", filepath.Join(dir, "statsherd-"+release+".tar.gz"), "-C", dir)
	if out, err := tar.CombinedOutput(); err != nil {
		t.Fatalf("untar: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "statsherd-"+release)
	if _, err := os.Stat(filepath.Join(src, ".git")); err == nil {
		t.Fatal("the archive holds a .git")
	}
	bin := filepath.Join(dir, "statsherd")
	build := exec.Command("go", "build", "-buildvcs=auto", "-o", bin, "./cmd/statsherd")
	build.Dir = src
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the source archive: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "statsherd "+release {
		t.Errorf("version from the archive = %q, want %q", got, "statsherd "+release)
	}
}

// TestVersionFromCheckout checks that a binary built from the checkout
// reports the VCS revision it was built from.
func TestVersionFromCheckout(t *testing.T) {
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	// The go command finds a repository only by a .git directory: in a
	// worktree of git worktree (.git is a file) it stamps no revision.
	if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && !fi.IsDir() {
		t.Skipf("%s is a git worktree (.git is a file): the go command stamps no VCS revision there", root)
	}
	bin := filepath.Join(t.TempDir(), "statsherd")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/statsherd")
	build.Dir = root
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "(revision " + strings.TrimSpace(string(head)); !strings.Contains(string(out), want) {
		t.Errorf("version = %q, want it to contain %q", out, want)
	}
}
