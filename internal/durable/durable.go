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
	"io/fs"
	"os"
	"path/filepath"
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
func (d *Disk) WriteFile(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = d.Sync(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// The new contents are in place; an error here says their name may
	// not survive a power loss.
	return d.SyncDir(dir)
}

// WriteFile is (*Disk)(nil).WriteFile: path replaced by data, synced.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return (*Disk)(nil).WriteFile(path, data, perm)
}
