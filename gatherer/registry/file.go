package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// The node list's file, nodes.json, and the names in it.

// NodesFile is the gatherer's list of known nodes (enrolled, pending and
// revoked), in its base directory.
const NodesFile = "nodes.json"

// States of a known node.
const (
	StateEnrolled = "enrolled"
	StatePending  = "pending"
	StateRevoked  = "revoked"
)

// Node is a known node.
type Node struct {
	ID          string    `json:"id"`
	Nickname    string    `json:"nickname"`
	State       string    `json:"state"`
	LastAddress string    `json:"last_address,omitempty"`
	FirstSeen   time.Time `json:"first_seen,omitzero"`
	LastSeen    time.Time `json:"last_seen,omitzero"`
	// Changed is when the state last changed (enrolled, approved, revoked).
	Changed time.Time `json:"changed,omitzero"`
	// Stats is the number of stats of its last answer: what the outputs
	// hold for it, counted against max_stats_total.
	Stats int `json:"stats,omitempty"`
	// Connected is set in listings while the node is connected.
	Connected bool `json:"connected,omitempty"`

	savedSeen time.Time
}

type nodesFileJSON struct {
	Version int     `json:"version"`
	Nodes   []*Node `json:"nodes"`
}

// writeNodesFile writes f as json.MarshalIndent(f, "", " ") and a newline
// would, a node at a time: at 20,000 nodes the whole list in memory, grown
// by doubling, took 30 MB a minute.
func writeNodesFile(w io.Writer, f nodesFileJSON) error {
	fmt.Fprintf(w, "{\n \"version\": %d,\n \"nodes\": ", f.Version)
	if len(f.Nodes) == 0 {
		_, err := io.WriteString(w, "[]\n}\n")
		return err
	}
	io.WriteString(w, "[\n")
	for i, n := range f.Nodes {
		b, err := json.MarshalIndent(n, "  ", " ")
		if err != nil {
			return fmt.Errorf("encoding the node list: %w", err)
		}
		io.WriteString(w, "  ")
		w.Write(b)
		if i < len(f.Nodes)-1 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n")
	}
	_, err := io.WriteString(w, " ]\n}\n")
	return err
}

// readNodesFile reads a nodes file; a missing file is no nodes.
func readNodesFile(path string) ([]*Node, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the node list: %w", err)
	}
	var f nodesFileJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("node list %s is damaged (%w); restore it from a backup, or delete it (every node enrols again, revocations are lost)", path, err)
	}
	out := f.Nodes[:0]
	for _, n := range f.Nodes {
		if n == nil || !ValidNodeID(n.ID) {
			continue
		}
		switch n.State {
		case StateEnrolled, StatePending, StateRevoked:
		default:
			return nil, fmt.Errorf("node list %s: node %s has state %q, not enrolled, pending or revoked; fix or delete that entry", path, n.ID, n.State)
		}
		n.Nickname = CleanNickname(n.Nickname)
		out = append(out, n)
	}
	return out, nil
}

// ValidNodeID reports whether s looks like a node id: 32 lowercase base32
// characters.
func ValidNodeID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// CleanNickname bounds a peer-given nickname and strips control characters.
// maxNickname is the most bytes of a nickname kept.
const maxNickname = 200

func CleanNickname(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > maxNickname {
		// Cut at a character boundary: the nickname travels to the
		// outputs as a protobuf string, which must stay valid UTF-8.
		cut := maxNickname
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if s == "" {
		s = "unnamed"
	}
	return s
}
