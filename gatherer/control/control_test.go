package control

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/statsherd/statsherd/gatherer/basedir"
)

// The control socket is its owner's alone (0600), nothing is left beside
// it, and closing the listener removes it.
func TestListenPrivate(t *testing.T) {
	dir := t.TempDir()
	ln, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, basedir.ControlSocket)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("base directory holds %d entries after Listen, want the socket alone: %v", len(ents), ents)
	}
	ln.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after Close: %v", err)
	}
}

// Listen never changes the process's umask: a directory made by another
// goroutine while the socket is made keeps the mode it asked for (the
// umask once set for the socket made such directories 0600, and munin
// could not read the snapshot beneath them).
func TestListenLeavesUmaskAlone(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	var stop atomic.Bool
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			d := filepath.Join(dir, "made", "d")
			if err := os.MkdirAll(d, 0o755); err != nil {
				done <- err
				return
			}
			fi, err := os.Stat(d)
			if err == nil && fi.Mode().Perm() != 0o755 {
				t.Errorf("a directory made while the socket was made is %v, want 0755", fi.Mode().Perm())
				return
			}
			os.RemoveAll(filepath.Join(dir, "made"))
		}
	}()
	sockDir := t.TempDir()
	for range 2000 {
		ln, err := Listen(sockDir)
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		if t.Failed() {
			break
		}
	}
	stop.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A base directory too deep for a socket beside it is a clear error.
func TestListenPathTooLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(dir)
	if err == nil || !strings.Contains(err.Error(), "too long for a unix socket") {
		t.Fatalf("Listen in a deep directory: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
