//go:build !linux

package plugin

// readFile reads the snapshot.
func readFile(path string) ([]byte, func(), error) { return readWhole(path) }
