package durable

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// recorder is a Disk that records what it syncs, with the file's size at
// the time, and syncs for real.
type recorder struct {
	Disk
	synced []string // "name size"
	fail   error
}

func newRecorder() *recorder {
	r := &recorder{}
	r.SyncFile = func(f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		if r.fail != nil {
			return r.fail
		}
		name := filepath.Base(f.Name())
		if fi.IsDir() {
			name += "/"
		}
		r.synced = append(r.synced, name)
		return f.Sync()
	}
	return r
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "cursor")
	r := newRecorder()
	for _, content := range []string{"first", "second, longer"} {
		if err := r.WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != content {
			t.Fatalf("read back %q, %v; want %q", b, err, content)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, %v; want 0640", fi.Mode(), err)
	}
	// Each write syncs the temporary file (before its rename), then the
	// directory (after it).
	if len(r.synced) != 4 || !strings.HasPrefix(r.synced[0], ".cursor.tmp") || r.synced[1] != filepath.Base(dir)+"/" ||
		!strings.HasPrefix(r.synced[2], ".cursor.tmp") || r.synced[3] != filepath.Base(dir)+"/" {
		t.Errorf("synced %q, want the temporary file then the directory, twice", r.synced)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want the one written (no temporary left)", len(ents))
	}
}

func TestWriteFileSyncFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "cursor")
	if err := WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	r.fail = errors.New("EIO")
	err := r.WriteFile(path, []byte("new"), 0o600)
	if err == nil || !strings.Contains(err.Error(), "EIO") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want the sync's error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed sync the file holds %q, want the old contents", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want the temporary removed", len(ents))
	}
}

func TestWriteFileErrors(t *testing.T) {
	t.Parallel()
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "f"), nil, 0o600); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("err = %v, want one naming the missing directory", err)
	}
	if err := (*Disk)(nil).SyncDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("SyncDir of a missing directory: no error")
	}
}

func TestWriteFileFunc(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot")
	r := newRecorder()
	var want strings.Builder
	err := r.WriteFileFunc(path, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 16)
		for i := range 1000 {
			line := fmt.Sprintf("line %d\n", i)
			want.WriteString(line)
			if _, err := bw.WriteString(line); err != nil {
				return err
			}
		}
		return bw.Flush()
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != want.String() {
		t.Fatalf("read back %d bytes, %v; want the %d written", len(b), err, want.Len())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode(), err)
	}
	if len(r.synced) != 2 || !strings.HasPrefix(r.synced[0], ".snapshot.tmp") || r.synced[1] != filepath.Base(dir)+"/" {
		t.Errorf("synced %q, want the temporary file then the directory", r.synced)
	}

	// A write that fails half-way leaves the old file and no temporary.
	boom := errors.New("boom")
	err = r.WriteFileFunc(path, 0o644, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v, want write's error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != want.String() {
		t.Errorf("after a failed write the file holds %d bytes, want the old %d", len(b), want.Len())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want the temporary removed", len(ents))
	}
}

func TestCreateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "node.key")
	r := newRecorder()
	if err := r.CreateFile(path, []byte("key one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if len(r.synced) != 2 || !strings.HasPrefix(r.synced[0], ".node.key.tmp") || r.synced[1] != filepath.Base(dir)+"/" {
		t.Errorf("synced %q, want the temporary file then the directory", r.synced)
	}
	err := CreateFile(path, []byte("key two"), 0o600)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "creating "+path) {
		t.Errorf("second CreateFile: err = %v, want one matching fs.ErrExist naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "key one" {
		t.Errorf("file holds %q, want the first key kept", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want only the key (no temporary left)", len(ents))
	}
}

func TestRemoveTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "stats[1].json")
	keep := []string{"stats[1].json", ".other.tmp123", "stats[1].json.tmp1"}
	for _, name := range append([]string{".stats[1].json.tmp123", ".stats[1].json.tmp"}, keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	RemoveTemps(path)
	ents, _ := os.ReadDir(dir)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	slices.Sort(got)
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Errorf("left %q, want %q: only path's temporaries removed", got, keep)
	}
}
