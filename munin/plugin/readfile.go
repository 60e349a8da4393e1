package plugin

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// snapshotFile is a snapshot's bytes, read or mapped into memory.
type snapshotFile struct {
	data []byte
	// done, if set, is told how far the parse has come, so that the pages
	// behind it can be let go of.
	done func(n int)
	// close lets go of data.
	close func()
}

// readWhole reads a file the ordinary way: a regular file of at most
// MaxSnapshotSize bytes.
func readWhole(path string) (*snapshotFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkSnapshotFile(fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSnapshotSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSnapshotSize {
		return nil, fmt.Errorf("%s grew over %d bytes while read", path, MaxSnapshotSize)
	}
	return &snapshotFile{data: data, close: func() {}}, nil
}

// checkSnapshotFile refuses what is not a snapshot: not a regular file
// (/dev/zero reads forever), or over MaxSnapshotSize.
func checkSnapshotFile(fi fs.FileInfo) error {
	if fi.IsDir() {
		return fmt.Errorf("%s is a directory", fi.Name())
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", fi.Name())
	}
	if fi.Size() > MaxSnapshotSize {
		return fmt.Errorf("%s is %d bytes, over %d: not a snapshot", fi.Name(), fi.Size(), int64(MaxSnapshotSize))
	}
	return nil
}
