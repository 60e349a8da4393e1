package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// helperDirs keeps the files a Tahoe helper keeps: the ciphertext of an
// upload grows in CHK_incoming while it is fetched, moves to CHK_encoding
// while it is encoded, and is removed when the upload is done. An abandoned
// upload's file stays behind and grows old.
type helperDirs struct {
	incoming, encoding string
	errs               []error
}

// newHelperDirs creates DIR/CHK_incoming and DIR/CHK_encoding, each with
// a leftover file of an upload abandoned three days ago, as a helper that
// has run for a while has.
func newHelperDirs(dir string, now time.Time) (*helperDirs, error) {
	d := &helperDirs{incoming: filepath.Join(dir, "CHK_incoming"), encoding: filepath.Join(dir, "CHK_encoding")}
	old := now.Add(-72 * time.Hour)
	for _, x := range []struct {
		dir  string
		size int64
	}{{d.incoming, 1536 * 1024}, {d.encoding, 2 * mib}} {
		if err := os.MkdirAll(x.dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating helper directory: %w", err)
		}
		path := filepath.Join(x.dir, "abandoned3daysagoabandoned")
		if err := writeSize(path, x.size); err != nil {
			return nil, err
		}
		if err := os.Chtimes(path, old, old); err != nil {
			return nil, fmt.Errorf("aging %s: %w", path, err)
		}
	}
	return d, nil
}

// writeSize makes path a file of size bytes (sparse: the demo needs the
// sizes, not the disk space).
func writeSize(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("sizing %s: %w", path, err)
	}
	return f.Close()
}

// sync makes the files match upload u's progress.
func (d *helperDirs) sync(u *upload, done, abandoned bool) {
	in, enc := filepath.Join(d.incoming, u.id), filepath.Join(d.encoding, u.id)
	switch {
	case abandoned:
		// Left behind in CHK_incoming, as far as it got.
		d.note(writeSize(in, u.fetched))
	case done:
		d.note(os.Remove(enc))
	case u.fetched < u.size:
		d.note(writeSize(in, u.fetched))
	case u.encoded == 0 || !exists(enc):
		d.note(writeSize(in, u.size))
		d.note(os.Rename(in, enc))
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (d *helperDirs) note(err error) {
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.errs = append(d.errs, err)
	}
}

// err returns and forgets the errors since the last call.
func (d *helperDirs) err() error {
	err := errors.Join(d.errs...)
	d.errs = nil
	return err
}
