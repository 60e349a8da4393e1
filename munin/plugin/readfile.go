package plugin

import "os"

// snapshotFile is a snapshot's bytes, read or mapped into memory.
type snapshotFile struct {
	data []byte
	// done, if set, is told how far the parse has come, so that the pages
	// behind it can be let go of.
	done func(n int)
	// close lets go of data.
	close func()
}

// readWhole reads a file the ordinary way.
func readWhole(path string) (*snapshotFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &snapshotFile{data: data, close: func() {}}, nil
}
