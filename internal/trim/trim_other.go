//go:build !linux

package trim

// Executable does nothing outside Linux.
func Executable() (int64, error) { return 0, nil }

func full() (int64, error) { return 0, nil }
