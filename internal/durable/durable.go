// Package durable writes files so that what it reports written survives a
// crash or a power loss: data is fsynced before it is called written, a
// replaced file is written beside it and renamed over it (a reader sees
// the old file or the new one, never a part), and the directory is
// fsynced after a rename or a new file, so the name survives too.
//
// Every fsync goes through a Disk, the seam a test replaces to watch what
// is synced and when: a sync left out is otherwise invisible until the
// power fails.
package durable

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Disk does the fsyncs. The zero Disk, and a nil *Disk, sync for real.
type Disk struct {
	// SyncFile flushes f (a file or a directory) to stable storage;
	// nil means f.Sync. A test sets it to record the syncs, calling
	// f.Sync itself.
	SyncFile func(f *os.File) error
}

// Sync flushes f to stable storage.
func (d *Disk) Sync(f *os.File) error {
	if d == nil || d.SyncFile == nil {
		return f.Sync()
	}
	return d.SyncFile(f)
}

// SyncDir flushes dir itself (its names: files created, renamed or
// removed in it) to stable storage.
func (d *Disk) SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	err = d.Sync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// WriteFile replaces path with data, with mode perm: a temporary file in
// the same directory is written, synced and renamed over path, then the
// directory is synced. On an error path is unchanged and the temporary
// file removed.
func (d *Disk) WriteFile(path string, data []byte, perm fs.FileMode) error {
	return d.WriteFileFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileFunc is WriteFile of what write writes, for a file too large
// to hold whole in memory. write gets the temporary file itself,
// unbuffered: a caller writing many small pieces wraps it in a
// bufio.Writer (one it reuses, if the file is written often) and flushes
// that before returning. An error from write is returned, wrapped, and
// path is left unchanged.
func (d *Disk) WriteFileFunc(path string, perm fs.FileMode, write func(io.Writer) error) error {
	tmp, err := d.writeTemp(path, perm, write)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// The new contents are in place; an error here says their name may
	// not survive a power loss.
	if err := d.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// CreateFile creates path holding data, with mode perm, or fails with an
// error matching fs.ErrExist if path exists: the exclusive create of a
// file that must never be replaced, such as a new key. The file appears
// whole or not at all, so a process starting at the same moment never
// reads half of it: a temporary file is written, synced and hard-linked
// to path (a link, unlike a rename, fails on an existing name), then
// removed, and the directory is synced.
func (d *Disk) CreateFile(path string, data []byte, perm fs.FileMode) error {
	tmp, err := d.writeTemp(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	err = os.Link(tmp, path)
	os.Remove(tmp)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := d.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	return nil
}

// writeTemp writes a temporary file beside path with what write writes,
// gives it mode perm and syncs it. It returns its name; on an error
// there is no temporary file left.
func (d *Disk) writeTemp(path string, perm fs.FileMode, write func(io.Writer) error) (tmp string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), tempPrefix(path)+"*")
	if err != nil {
		return "", err
	}
	err = write(f)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = d.Sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// tempPrefix begins the names of path's temporary files: hidden, and
// named after path, so that RemoveTemps finds them.
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp"
}

// RemoveTemps removes the temporary files of path that a writer killed
// mid-write left behind. Call it at start-up, before writing path, and
// only where no other process writes path.
func RemoveTemps(path string) {
	glob := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(tempPrefix(path))
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(path), glob+"*"))
	for _, f := range old {
		os.Remove(f)
	}
}

// WriteFile is (*Disk)(nil).WriteFile: path replaced by data, synced.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return (*Disk)(nil).WriteFile(path, data, perm)
}

// WriteFileFunc is (*Disk)(nil).WriteFileFunc: path replaced by what
// write writes, synced.
func WriteFileFunc(path string, perm fs.FileMode, write func(io.Writer) error) error {
	return (*Disk)(nil).WriteFileFunc(path, perm, write)
}

// CreateFile is (*Disk)(nil).CreateFile: path created holding data,
// synced, unless it exists.
func CreateFile(path string, data []byte, perm fs.FileMode) error {
	return (*Disk)(nil).CreateFile(path, data, perm)
}
