package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/statsherd/statsherd/internal/testenv"
)

// TestHostSaysOnceItMadeANodeID: the first `host id` in an empty basedir
// says it made a node id; the next finds the key, prints the same id and
// says nothing of it.
func TestHostSaysOnceItMadeANodeID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "host.hcl")
	if err := os.WriteFile(conf, []byte("nickname = \"n1\"\nbasedir = \"state\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id1, stderr, code := run(t, "host", "id", "-config", conf)
	if code != 0 || !strings.Contains(stderr, "made a new node id in "+filepath.Join(dir, "state")) {
		t.Fatalf("first host id: exit %d, stderr %q, want it to say it made a new node id", code, stderr)
	}
	id2, stderr, code := run(t, "host", "id", "-config", conf)
	if code != 0 || strings.Contains(stderr, "new node id") || id1 != id2 {
		t.Errorf("second host id: exit %d, id %q then %q, stderr %q", code, id1, id2, stderr)
	}
}

// TestHostIDInAnotherUsersBasedir: root making the node key in a basedir
// of the service's user is refused, and makes nothing: a 0600 key of
// root's would keep the host, running as that user, from starting.
func TestHostIDInAnotherUsersBasedir(t *testing.T) {
	t.Parallel()
	testenv.NeedRoot(t, "it gives a basedir to user nobody")
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "host.hcl")
	if err := os.WriteFile(conf, []byte("nickname = \"n1\"\nbasedir = \"state\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "host", "id", "-config", conf)
	if code != 1 || !strings.Contains(stderr, "runuser -u") {
		t.Errorf("host id as root in nobody's basedir: exit %d, stderr %q", code, stderr)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("it left %v in the basedir", left)
	}
}
