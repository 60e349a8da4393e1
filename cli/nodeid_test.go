package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
