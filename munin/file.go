package munin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/statsherd/statsherd/internal/durable"
	"github.com/statsherd/statsherd/munin/snapshot"
)

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
	durable.RemoveTemps(path)
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("the snapshot's directory does not take new files: %w", err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// writeFileAtomic replaces path with what write writes, through
// durable.WriteFileFunc (a reader sees the old file or the new one, and
// both the data and the name are synced). w is the buffer to write
// through, reused across calls.
func writeFileAtomic(path string, mode fs.FileMode, w *bufio.Writer, write func(*bufio.Writer) error) error {
	return durable.WriteFileFunc(path, mode, func(f io.Writer) error {
		w.Reset(f)
		defer w.Reset(nil) // do not keep the file
		if err := write(w); err != nil {
			return err
		}
		return w.Flush()
	})
}
