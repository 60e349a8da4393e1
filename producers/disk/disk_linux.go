package disk

import "syscall"

// statfs asks the kernel about the file system holding path.
func statfs(path string) (fsStats, error) {
	var s syscall.Statfs_t
	if err := syscall.Statfs(path, &s); err != nil {
		return fsStats{}, err
	}
	// f_frsize is the unit of f_blocks; old kernels leave it 0.
	unit := uint64(s.Frsize)
	if unit == 0 {
		unit = uint64(s.Bsize)
	}
	return fsStats{
		Total:          s.Blocks * unit,
		FreeForRoot:    s.Bfree * unit,
		FreeForNonroot: s.Bavail * unit,
	}, nil
}
