package outside

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/internal/testbin"
)

const sdkModule = "github.com/statsherd/statsherd/sdk"

// daemonModules are modules a plugin must not need: the daemons' own and
// the libraries only they use.
var daemonModules = []string{
	"github.com/statsherd/statsherd",
	"github.com/hashicorp/hcl/v2",
	"github.com/zclconf/go-cty",
	"github.com/prometheus/client_golang",
}

// examples are the plugins built outside the tree, with a name each serves.
var examples = []struct{ dir, serves string }{
	{"example-producer", `"dir_count"`},
	{"example-output", `"jsonl"`},
}

// TestExamplesBuildWithTheSDKAlone copies the example plugins into a
// scratch directory whose go.mod is sdk/README.md's, plus a replace to this
// tree's sdk/, then tidies, builds, vets and tests them there. Anything an
// example (or the sdk) needs from the daemons' module fails the build.
func TestExamplesBuildWithTheSDKAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the examples in a scratch module: skipped with -short")
	}
	root, err := testbin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "sdk", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	gomod := readmeGoMod(t, string(readme))

	dir := t.TempDir()
	gomod += "\nreplace " + sdkModule + " => " + filepath.Join(root, "sdk") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ex := range examples {
		copyTree(t, filepath.Join(root, "examples", ex.dir), filepath.Join(dir, ex.dir))
	}

	goCmd(t, dir, "mod", "tidy")
	bin := filepath.Join(dir, "bin")
	goCmd(t, dir, "build", "-o", bin+string(filepath.Separator), "./...")
	goCmd(t, dir, "vet", "./...")
	goCmd(t, dir, "test", "-count=1", "./...")

	mods := strings.Fields(goCmd(t, dir, "list", "-m", "-f", "{{.Path}}", "all"))
	for _, m := range mods {
		for _, d := range daemonModules {
			if m == d {
				t.Errorf("the scratch module needs %s; a plugin should need only %s", m, sdkModule)
			}
		}
	}
	for _, ex := range examples {
		out, err := exec.Command(filepath.Join(bin, ex.dir), "describe").Output()
		if err != nil {
			t.Errorf("%s describe: %v", ex.dir, err)
			continue
		}
		if !strings.Contains(string(out), ex.serves) {
			t.Errorf("%s describe does not list %s:\n%s", ex.dir, ex.serves, out)
		}
	}
}

// readmeGoMod returns the go.mod block of sdk/README.md, checking that it
// requires the sdk module and nothing else.
func readmeGoMod(t *testing.T, readme string) string {
	t.Helper()
	m := regexp.MustCompile("(?s)```go.mod\n(.*?)```").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("sdk/README.md has no ```go.mod block saying what a plugin's go.mod needs")
	}
	var requires []string
	for _, line := range strings.Split(m[1], "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "require" {
			requires = append(requires, f[1])
		}
	}
	if len(requires) != 1 || requires[0] != sdkModule {
		t.Fatalf("sdk/README.md's go.mod requires %q; want %s alone", requires, sdkModule)
	}
	return m[1]
}

// goCmd runs the go command in dir, outside any workspace, allowed to
// update go.mod and go.sum, and returns its stdout.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s in the scratch module: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}
