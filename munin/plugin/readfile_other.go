//go:build !linux

package plugin

// readFile reads the snapshot.
func readFile(path string) (*snapshotFile, error) { return readWhole(path) }
