package munin

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/statsherd/statsherd/munin/snapshot"
)

// tempPrefix marks the output's temporary files: "." + base + tempPrefix.
const tempPrefix = ".tmp-"

// load reads the snapshot at path into a model. A missing file is an empty
// snapshot; any other failure is an error saying what to do.
func load(path string) (*fleet, map[string]*node, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newFleet(), map[string]*node{}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the existing snapshot: %w; fix its permissions, or restore it from a backup, or delete it if no backup is available (the file was left untouched)", err)
	}
	snap, err := snapshot.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("the existing snapshot %s is corrupt: %w; restore it from a backup, or delete it if no backup is available (the file was left untouched)", path, err)
	}
	fl, nodes := fromSnapshot(snap)
	return fl, nodes, nil
}

// checkDir checks that the snapshot's directory takes new files, and
// removes temporary files a crashed writer left there.
func checkDir(path string) error {
	dir := filepath.Dir(path)
	old, _ := filepath.Glob(filepath.Join(dir, "."+globEscape(filepath.Base(path))+tempPrefix+"*"))
	for _, f := range old {
		os.Remove(f)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempPrefix+"*")
	if err != nil {
		return fmt.Errorf("the snapshot's directory does not take new files: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func globEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

// writeFileAtomic replaces path with what write writes: a temporary file
// in the same directory, written (buffered), synced and given mode, then renamed over path, so a
// reader sees the old file or the new one, never a partial or missing one.
// w is the buffer to write through, reused across calls.
func writeFileAtomic(path string, mode fs.FileMode, w *bufio.Writer, write func(*bufio.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w.Reset(f)
	defer w.Reset(nil) // do not keep the file
	if err = write(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	// Make the rename itself durable.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
