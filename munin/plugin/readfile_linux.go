package plugin

import (
	"os"
	"syscall"
)

// readFile maps the snapshot into memory instead of reading it: for a
// file of megabytes that saves allocating, zeroing and copying it. The
// parser copies every string it keeps, so the mapping may go as soon as
// parsing is done, and the pages it has passed may go before that: done
// drops them (MADV_DONTNEED), so a fetch on a snapshot of tens of
// megabytes holds little more than its own data. The writer replaces the
// file by rename and never changes it in place, so the mapping stays
// valid, and a dropped page read again comes back from the page cache.
func readFile(path string) (*snapshotFile, error) {
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
	if fi.Size() == 0 {
		return readWhole(path)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readWhole(path)
	}
	syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	page := os.Getpagesize()
	dropped := 0
	return &snapshotFile{
		data: data,
		done: func(n int) {
			n -= n % page
			if n > dropped {
				syscall.Madvise(data[dropped:n], syscall.MADV_DONTNEED)
				dropped = n
			}
		},
		close: func() { syscall.Munmap(data) },
	}, nil
}
