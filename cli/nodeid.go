package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/statsherd/statsherd/internal/identity"
)

// loadNodeIdentity loads the host's node key from basedir, making one if
// there is none yet; made reports that it did, so the caller says so
// once: a new node id is a new series in every graph, and a host whose
// basedir moved by mistake must not change identity unnoticed.
func loadNodeIdentity(basedir string) (id *identity.Identity, made bool, err error) {
	_, statErr := os.Stat(filepath.Join(basedir, nodeKeyName+".key"))
	id, err = identity.LoadOrCreate(basedir, nodeKeyName)
	if err != nil {
		return nil, false, err
	}
	return id, errors.Is(statErr, fs.ErrNotExist), nil
}
