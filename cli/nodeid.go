package cli

import (
	"errors"
	"fmt"
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
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := checkKeyMaker(basedir); err != nil {
			return nil, false, err
		}
	}
	id, err = identity.LoadOrCreate(basedir, nodeKeyName)
	if err != nil {
		return nil, false, err
	}
	return id, errors.Is(statErr, fs.ErrNotExist), nil
}

// checkKeyMaker refuses to make the node key in an existing basedir that
// belongs to another user (root running 'statsherd host id' in the
// service's /var/lib/statsherd): the key, mode 0600, would be unreadable
// by the host that runs as that user.
func checkKeyMaker(basedir string) error {
	if owner, other := otherOwner(basedir); other {
		return fmt.Errorf("basedir %s has no node key yet and belongs to user %s: make the key as that user, who runs the host (runuser -u %s -- statsherd host id -config FILE), since a key made by this user would be unreadable to it", basedir, owner, owner)
	}
	return nil
}
