package link

import (
	"errors"
	"strings"
	"time"
)

// DefaultRefusedBackoff is how long a host refused for a reason a retry
// cannot fix (revoked, wrong secret, duplicate key, not on the allowlist)
// waits before asking again.
const DefaultRefusedBackoff = 10 * time.Minute

// refusal is a gatherer's refusal that a retry cannot fix until someone
// acts: what it is, and what fixes it.
type refusal struct {
	kind string // pending, revoked, wrong_secret, duplicate_key, not_allowed
	fix  string
}

// refusals tells refusals apart by the gatherer's reason (the texts of
// gatherer/admission and gatherer/registry), in order.
var refusals = []struct {
	match string
	refusal
}{
	{"waiting for approval", refusal{"pending", "the gatherer's operator approves this node: statsherd gatherer approve NODE (see 'statsherd host id'); it keeps asking at the poll interval"}},
	{"nodes already wait for approval", refusal{"pending", "the gatherer's operator approves or revokes the nodes waiting (statsherd gatherer nodes); it keeps asking at the poll interval"}},
	{"this node is revoked", refusal{"revoked", "the gatherer's operator revoked this node: ask them to approve it again (statsherd gatherer approve NODE), or retire this host"}},
	{"wrong secret", refusal{"wrong_secret", "copy the gatherer's current stats_gatherer.furl (its base directory) into this host's furl_file, then reload the host"}},
	{"is already connected from", refusal{"duplicate_key", "two hosts share one node key (a copied basedir or node.key?): give each host its own basedir; 'statsherd host id' shows a host's node id"}},
	{"is not on the gatherer's allowlist", refusal{"not_allowed", "the gatherer's operator adds this node's id ('statsherd host id') to its allowlist, then reloads the gatherer"}},
}

// classify returns the refusal err is, if it is one a retry cannot fix.
func classify(err error) (refusal, bool) {
	if err == nil || !errors.Is(err, ErrRefused) {
		return refusal{}, false
	}
	msg := err.Error()
	for _, r := range refusals {
		if strings.Contains(msg, r.match) {
			return r.refusal, true
		}
	}
	return refusal{}, false
}
