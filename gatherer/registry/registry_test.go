package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/refusal"
)

func nodeID(c byte) string { return strings.Repeat(string(c), 32) }

func TestAdmit(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name     string
		policy   string
		maxNodes int
		setup    func(r *Registry)
		id       string
		secretOK bool
		want     string // "" admitted, else the refusal kind
		state    string // the node's state after
	}{
		{"open, new node with the secret: enrolled at its first answer", "open", 10, nil, nodeID('a'), true, "", ""},
		{"open, new node without the secret", "open", 10, nil, nodeID('a'), false, refusal.Secret, ""},
		{"enrolled node needs no secret", "open", 10, func(r *Registry) { r.Seen(nodeID('a'), "a", "", now, 10) }, nodeID('a'), false, "", StateEnrolled},
		{"revoked node refused, even with the secret", "open", 10, func(r *Registry) { r.SetState(nodeID('a'), StateRevoked, now) }, nodeID('a'), true, refusal.Revoked, StateRevoked},
		{"too many nodes", "open", 1, func(r *Registry) { r.Seen(nodeID('b'), "b", "", now, 10) }, nodeID('a'), true, refusal.TooManyNodes, ""},
		{"revoked nodes do not count", "open", 1, func(r *Registry) { r.SetState(nodeID('b'), StateRevoked, now) }, nodeID('a'), true, "", ""},
		{"approve: new node waits", "approve", 10, nil, nodeID('a'), true, refusal.Pending, StatePending},
		{"approve: approved node admitted", "approve", 10, func(r *Registry) {
			r.Admit(nodeID('a'), "a", "", true, now)
			r.SetState(nodeID('a'), StateEnrolled, now)
		}, nodeID('a'), false, "", StateEnrolled},
		{"allowlist: listed", "allowlist", 10, nil, nodeID('a'), true, "", ""},
		{"allowlist: listed needs the secret to enrol", "allowlist", 10, nil, nodeID('a'), false, refusal.Secret, ""},
		{"allowlist: not listed", "allowlist", 10, nil, nodeID('b'), true, refusal.NotAllowed, ""},
		// A node taken off the list after it enrolled is refused at
		// each reconnect, with or without the secret.
		{"allowlist: enrolled, no longer listed", "allowlist", 10, func(r *Registry) { r.Seen(nodeID('b'), "b", "", now, 10) }, nodeID('b'), false, refusal.NotAllowed, StateEnrolled},
		{"allowlist: enrolled, no longer listed, with the secret", "allowlist", 10, func(r *Registry) { r.Seen(nodeID('b'), "b", "", now, 10) }, nodeID('b'), true, refusal.NotAllowed, StateEnrolled},
		{"allowlist: enrolled and listed needs no secret", "allowlist", 10, func(r *Registry) { r.Seen(nodeID('a'), "a", "", now, 10) }, nodeID('a'), false, "", StateEnrolled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _ := testRegistry(t, tt.policy, tt.maxNodes)
			if tt.setup != nil {
				tt.setup(r)
			}
			ad := r.Admit(tt.id, "nick", "192.0.2.1:1234", tt.secretOK, now)
			if got := ad.Kind; ad.OK != (tt.want == "") || got != tt.want {
				t.Errorf("admit = %+v, want kind %q", ad, tt.want)
			}
			state := ""
			if n := r.nodes[tt.id]; n != nil {
				state = n.State
			}
			if state != tt.state {
				t.Errorf("state %q, want %q", state, tt.state)
			}
		})
	}
}

func TestRegistryPersistsAndForgets(t *testing.T) {
	t.Parallel()
	r, cfg := testRegistry(t, "open", 10)
	old := time.Now().Add(-8 * 24 * time.Hour)
	r.Seen(nodeID('a'), "gone", "192.0.2.1:1", old, 10)
	r.Seen(nodeID('b'), "here", "192.0.2.2:1", time.Now(), 10)
	r.Seen(nodeID('c'), "connected", "192.0.2.3:1", old, 10)
	r.SetState(nodeID('d'), StateRevoked, old)
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	r2, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r2.List()); got != 4 {
		t.Fatalf("%d nodes after reload, want 4", got)
	}
	gone := r2.Forget(time.Now(), func(id string) bool { return id == nodeID('c') })
	if len(gone) != 1 || gone[0].ID != nodeID('a') {
		t.Errorf("forgot %+v, want node a only (b is recent, c connected, d revoked)", gone)
	}
	if !r2.KnownSource("192.0.2.2") || r2.KnownSource("192.0.2.9") {
		t.Error("known sources wrong")
	}
	if fi, err := os.Stat(filepath.Join(cfg.Basedir, NodesFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("nodes file: %v %v", fi, err)
	}
}

func TestRegistryLoadErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, content, want string }{
		{"not json", "{", "node list"},
		{"bad state", `{"nodes":[{"id":"` + nodeID('a') + `","state":"king"}]}`, "state \"king\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.DefaultGatherer(t.TempDir())
			os.WriteFile(filepath.Join(cfg.Basedir, NodesFile), []byte(tt.content), 0o600)
			if _, err := Load(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	cfg := config.DefaultGatherer(t.TempDir())
	cfg.Enrolment.Policy = "allowlist"
	if _, err := Load(cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing allowlist: err = %v", err)
	}
	os.WriteFile(cfg.Enrolment.Allowlist, []byte("not-an-id\n"), 0o600)
	if _, err := Load(cfg); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad allowlist: err = %v", err)
	}
}

func FuzzParseAllowlist(f *testing.F) {
	f.Add([]byte(nodeID('a') + "\n# c\n\n" + nodeID('b') + " # x\n"))
	f.Add([]byte("garbage\x00\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		allow, err := parseAllowlist(b)
		if err != nil {
			return
		}
		for id := range allow {
			if !ValidNodeID(id) {
				t.Errorf("accepted %q", id)
			}
		}
	})
}

func FuzzReadNodesFile(f *testing.F) {
	f.Add([]byte(`{"version":1,"nodes":[{"id":"` + nodeID('a') + `","state":"enrolled","nickname":"x"}]}`))
	f.Add([]byte(`{"nodes":[null,{"id":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), NodesFile)
		os.WriteFile(path, b, 0o600)
		nodes, err := readNodesFile(path)
		if err != nil {
			return
		}
		for _, n := range nodes {
			if !ValidNodeID(n.ID) {
				t.Errorf("accepted node id %q", n.ID)
			}
		}
	})
}

// TestWriteNodesFile: the node list written a node at a time is the bytes
// json.MarshalIndent gave for the whole list, for none, one and several
// nodes, with names that JSON escapes.
func TestWriteNodesFile(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 123, time.UTC)
	all := []*Node{
		{ID: "aaaa", Nickname: "storage-<01>", State: StateEnrolled, LastAddress: "10.0.0.1:4000", FirstSeen: t0, LastSeen: t0.Add(time.Hour)},
		{ID: "bbbb", Nickname: "é \"quoted\"\n", State: StatePending},
		{ID: "cccc", State: StateRevoked, Changed: t0},
	}
	for n := 0; n <= len(all); n++ {
		f := nodesFileJSON{Version: 1, Nodes: all[:n]}
		if n == 0 {
			f.Nodes = []*Node{}
		}
		want, err := json.MarshalIndent(f, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		if err := writeNodesFile(&got, f); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%d nodes: wrote\n%s\nwant\n%s", n, got.Bytes(), want)
		}
	}
}

// TestRegistryFleetBounds (issue 25, item 4): new nodes under open wait
// on a token bucket in stats, a fleet past max_stats_total takes no new
// node, and a node that answered once is forgotten sooner.
func TestRegistryFleetBounds(t *testing.T) {
	t.Parallel()
	r, _ := testRegistry(t, "open", 1000)
	r.bucket = newTokenBucket(1000, 5000)
	r.maxStats = 1 << 40
	now := time.Now()
	admitted := 0
	for i := range 20 {
		id := fmt.Sprintf("%032d", i)
		if ad := r.Admit(id, "n", "", true, now); ad.OK {
			admitted++
			r.Seen(id, "n", "", now, 2000)
		} else if ad.Kind != refusal.NewNodeRate {
			t.Fatalf("refused %s: %s", ad.Kind, ad.Reason)
		}
	}
	if admitted != 3 {
		t.Errorf("%d nodes of 2,000 stats admitted from a bucket of 5,000, want 3", admitted)
	}
	// Enrolled nodes never wait on the bucket.
	if ad := r.Admit(fmt.Sprintf("%032d", 0), "n", "", false, now); !ad.OK {
		t.Errorf("an enrolled node was refused: %s", ad.Reason)
	}
	// Paid back over time.
	if ad := r.Admit("x0000000000000000000000000000000", "n", "", true, now.Add(5*time.Second)); !ad.OK {
		t.Errorf("refused after the bucket refilled: %s", ad.Reason)
	}
	if r.held != 6000 {
		t.Errorf("held %d stats, want 6000", r.held)
	}
	r.maxStats = 6000
	if ad := r.Admit("y0000000000000000000000000000000", "n", "", true, now.Add(time.Hour)); ad.OK || !strings.Contains(ad.Reason, "max_stats_total") {
		t.Errorf("admitted past max_stats_total: %+v", ad)
	}
	// A one-shot node goes after forget_new_after, an old one stays.
	r.forgetNew = time.Hour
	r.nodes[fmt.Sprintf("%032d", 1)].FirstSeen = now.Add(-30 * 24 * time.Hour)
	gone := r.Forget(now.Add(2*time.Hour), func(string) bool { return false })
	if len(gone) != 2 || r.nodes[fmt.Sprintf("%032d", 1)] == nil {
		t.Errorf("forgot %d nodes, want the 2 one-shot ones (not the month-old one)", len(gone))
	}
	if r.held != 2000 {
		t.Errorf("held %d stats after forgetting, want 2000", r.held)
	}
}

// TestRegistryPendingBounds (issue 25, item 7): pending nodes expire, one
// address holds few, and rejectPending forgets them by address or all.
func TestRegistryPendingBounds(t *testing.T) {
	t.Parallel()
	r, _ := testRegistry(t, "approve", 1000)
	now := time.Now()
	for i := range 6 {
		r.Admit(fmt.Sprintf("a%031d", i), "n", "192.0.2.1:1000", true, now)
	}
	r.Admit("b0000000000000000000000000000000", "n", "192.0.2.2:1000", true, now)
	_, pending, _ := r.Counts()
	if pending != config.DefaultMaxPendingPerAddress+1 {
		t.Errorf("%d pending, want %d from one address and 1 from another", pending, config.DefaultMaxPendingPerAddress+1)
	}
	if gone := r.RejectPending("192.0.2.1"); len(gone) != config.DefaultMaxPendingPerAddress {
		t.Errorf("rejected %d from 192.0.2.1", len(gone))
	}
	// A day later the other one has expired, and a new one is taken.
	later := now.Add(config.DefaultPendingExpiry + time.Minute)
	r.Admit("c0000000000000000000000000000000", "n", "192.0.2.3:1000", true, later)
	if ns := r.List(); len(ns) != 1 || ns[0].ID != "c0000000000000000000000000000000" {
		t.Errorf("nodes %+v, want only the new pending one", ns)
	}
	if gone := r.Forget(later.Add(config.DefaultPendingExpiry+time.Minute), func(string) bool { return false }); len(gone) != 1 {
		t.Errorf("forget dropped %d expired pending nodes, want 1", len(gone))
	}
}

func testRegistry(t *testing.T, policy string, maxNodes int) (*Registry, *config.Gatherer) {
	t.Helper()
	cfg := config.DefaultGatherer(t.TempDir())
	cfg.Enrolment.Policy = policy
	cfg.Limits.MaxNodes = maxNodes
	if policy == "allowlist" {
		if err := os.WriteFile(cfg.Enrolment.Allowlist, []byte("# ops\n"+nodeID('a')+"  # node a\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, cfg
}
