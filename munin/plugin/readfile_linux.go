package plugin

import (
	"os"
	"syscall"
)

// readFile maps the snapshot into memory instead of reading it: for a
// file of megabytes that saves allocating, zeroing and copying it, most of
// a fetch's time after parsing. The parser copies every string it keeps,
// so release may unmap as soon as parsing is done. The writer replaces the
// file by rename and never truncates it, so the mapping stays valid.
func readFile(path string) (data []byte, release func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > 1<<40 {
		return readWhole(path)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return readWhole(path)
	}
	return data, func() { syscall.Munmap(data) }, nil
}
