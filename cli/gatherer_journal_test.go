package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

// quietGathererDir makes a gatherer base directory whose gatherer has no
// status page (nothing listens but the furl's port).
func quietGathererDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "g")
	if _, stderr, code := run(t, "create-gatherer", dir); code != 0 {
		t.Fatalf("create-gatherer: %s", stderr)
	}
	f, err := os.OpenFile(filepath.Join(dir, "gatherer.hcl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, `status { listen = "" }`)
	f.Close()
	return dir
}

// TestGathererKeepsTheFurlOutOfTheJournal: under systemd (JOURNAL_STREAM
// names stdout), the gatherer does not print its furl, whose secret would
// land in the journal; it says where the furl is instead.
func TestGathererKeepsTheFurlOutOfTheJournal(t *testing.T) {
	t.Parallel()
	dir := quietGathererDir(t)

	journal, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer journal.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(journal.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(statsherd, "gatherer", "-basedir", dir)
	cmd.Env = append(os.Environ(), fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	stderr := &testbin.Buffer{}
	cmd.Stdout, cmd.Stderr = journal, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	// Either it says where the furl is, or it prints it.
	var out []byte
	for i := 0; ; i++ {
		out, _ = os.ReadFile(journal.Name())
		if strings.Contains(stderr.String(), "stdout is the journal") || bytes.Contains(out, []byte("pb://")) {
			break
		}
		if i == 600 {
			t.Fatalf("the gatherer did not start in 60 s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(string(out), "pb://") || !strings.Contains(stderr.String(), "not printed: stdout is the journal") {
		t.Errorf("stdout (the journal): %q\nstderr:\n%s", out, stderr.String())
	}
}
