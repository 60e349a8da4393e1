package gatherer

import (
	"path/filepath"

	"github.com/statsherd/statsherd/internal/furl"
)

// rotateSecret makes a new secret, writes it and the new furl, and uses
// it from now on.
func (g *Gatherer) rotateSecret() (furl.FURL, error) {
	s, err := newSecret()
	if err != nil {
		return furl.FURL{}, err
	}
	g.secretMu.Lock()
	defer g.secretMu.Unlock()
	f := g.furl
	f.Secret = s
	if err := writeSecretAndFurl(g.cfg.Basedir, s, &f); err != nil {
		return furl.FURL{}, err
	}
	g.secret, g.furl = s, f
	return f, nil
}

// writeSecretAndFurl writes a new secret, and the furl with it if f is not
// nil.
func writeSecretAndFurl(basedir, secret string, f *furl.FURL) error {
	if err := writeFileAtomic(filepath.Join(basedir, SecretFile), []byte(secret+"\n"), 0o600); err != nil {
		return err
	}
	if f != nil {
		if err := writeFileAtomic(filepath.Join(basedir, FurlFile), []byte(f.String()+"\n"), 0o600); err != nil {
			return err
		}
	}
	return nil
}
