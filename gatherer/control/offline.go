package control

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/furl"
)

// The control operations on the files of a gatherer that is not running
// (nodes.json, the secret and the furl), under the base directory's lock.

// Offline carries out req on the files of a gatherer that is not
// running (it reads them at start). It fails if a gatherer holds the lock.
func Offline(cfg *config.Gatherer, req Request) (Response, error) {
	unlock, err := basedir.Lock(cfg.Basedir)
	if err != nil {
		return Response{}, err
	}
	defer unlock()
	r, err := registry.Load(&config.Gatherer{Basedir: cfg.Basedir, Enrolment: config.GathererEnrolment{Policy: "open"}, Limits: cfg.Limits})
	if err != nil {
		return Response{}, err
	}
	now := time.Now()
	resp := Response{Offline: true}
	switch req.Op {
	case "nodes":
		resp.Nodes = r.List()
		return resp, nil
	case "reject-pending":
		resp.Nodes = r.RejectPending(req.Address)
		return resp, r.Save()
	case "approve", "revoke":
		state := registry.StateEnrolled
		if req.Op == "revoke" {
			state = registry.StateRevoked
		}
		n, err := r.SetState(req.ID, state, now)
		if err != nil {
			return Response{}, err
		}
		resp.Node = &n
		return resp, r.Save()
	case "rotate-secret":
		s, err := basedir.NewSecret()
		if err != nil {
			return Response{}, err
		}
		var fp *furl.FURL
		if f, err := furl.ReadFile(filepath.Join(cfg.Basedir, basedir.FurlFile)); err == nil {
			f.Secret = s
			fp = &f
			resp.Furl = f.String()
		}
		return resp, basedir.WriteSecretAndFurl(cfg.Basedir, s, fp)
	}
	return Response{}, fmt.Errorf("unknown operation %q: use nodes, approve, revoke, reject-pending or rotate-secret", req.Op)
}
