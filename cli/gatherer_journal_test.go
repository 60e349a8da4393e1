package cli_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

// TestGathererPrintsTheFurlOnlyToATerminal: to a terminal the gatherer
// prints its furl; to a file (a redirect, a container's log) it prints
// the furl file's path, never the secret.
func TestGathererPrintsTheFurlOnlyToATerminal(t *testing.T) {
	t.Parallel()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	fromTTY := &testbin.Buffer{}
	go io.Copy(fromTTY, ptmx)

	logFile, err := os.Create(filepath.Join(t.TempDir(), "gatherer.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	for _, tt := range []struct {
		name   string
		stdout *os.File
		read   func() string
		want   func(dir string) string
	}{
		{"terminal", tty, fromTTY.String, func(string) string { return "pb://" }},
		{"file", logFile, func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) },
			func(dir string) string { return filepath.Join(dir, "stats_gatherer.furl") + "\n" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := quietGathererDir(t)
			cmd := exec.Command(statsherd, "gatherer", "-basedir", dir)
			stderr := &testbin.Buffer{}
			cmd.Stdout, cmd.Stderr = tt.stdout, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}()
			want := tt.want(dir)
			for i := 0; !strings.Contains(tt.read(), want); i++ {
				if i == 600 {
					t.Fatalf("stdout %q lacks %q after 60 s\nstderr:\n%s", tt.read(), want, stderr.String())
				}
				time.Sleep(100 * time.Millisecond)
			}
			if tt.name == "file" && strings.Contains(tt.read(), "pb://") {
				t.Errorf("the furl went to a file: %q", tt.read())
			}
		})
	}
}
