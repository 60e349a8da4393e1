package durable

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lock")
	f, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v, %v; want 0600", fi.Mode(), err)
	}
	// A second open file description conflicts, as another process would.
	if g, err := Lock(path); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
		if g != nil {
			g.Close()
		}
		t.Fatalf("second Lock while held: err = %v, want ErrLocked naming %s", err, path)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	g.Close()
}

// TestLockOtherProcess holds the lock in a child process (this test
// binary, run as lockHelper) and checks that Lock here fails until the
// child exits, crash-like, without closing anything.
func TestLockOtherProcess(t *testing.T) {
	if path := os.Getenv("DURABLE_LOCK_HELPER"); path != "" {
		lockHelper(path)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockOtherProcess$")
	cmd.Env = append(os.Environ(), "DURABLE_LOCK_HELPER="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, 6)
	if n, err := stdout.Read(buf); err != nil || string(buf[:n]) != "locked" {
		t.Fatalf("child said %q, %v; want \"locked\"", buf[:n], err)
	}
	if f, err := Lock(path); !errors.Is(err, ErrLocked) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("Lock while a child holds it: err = %v, want ErrLocked", err)
	}
	stdin.Close() // the child exits without unlocking
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	f, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the child exited: %v", err)
	}
	f.Close()
}

// lockHelper takes the lock, says so, and exits when its stdin closes.
func lockHelper(path string) {
	if _, err := Lock(path); err != nil {
		os.Stdout.WriteString(err.Error())
		os.Exit(1)
	}
	os.Stdout.WriteString("locked")
	var b [1]byte
	os.Stdin.Read(b[:])
	os.Exit(0)
}

func TestLockErrors(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing", "lock")
	if f, err := Lock(path); err == nil || errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "opening lock "+path) {
		if f != nil {
			f.Close()
		}
		t.Errorf("Lock in a missing directory: err = %v, want an open error naming %s", err, path)
	}
}
