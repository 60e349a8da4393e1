package gatherer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/testbin"
)

func nodeID(c byte) string { return strings.Repeat(string(c), 32) }

func testRegistry(t *testing.T, policy string, maxNodes int) (*registry, *config.Gatherer) {
	t.Helper()
	cfg := config.DefaultGatherer(t.TempDir())
	cfg.Enrolment.Policy = policy
	cfg.Limits.MaxNodes = maxNodes
	if policy == "allowlist" {
		if err := os.WriteFile(cfg.Enrolment.Allowlist, []byte("# ops\n"+nodeID('a')+"  # node a\n\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r, err := loadRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, cfg
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name     string
		policy   string
		maxNodes int
		setup    func(r *registry)
		id       string
		secretOK bool
		want     string // "" admitted, else the refusal kind
		state    string // the node's state after
	}{
		{"open, new node with the secret: enrolled at its first answer", "open", 10, nil, nodeID('a'), true, "", ""},
		{"open, new node without the secret", "open", 10, nil, nodeID('a'), false, refSecret, ""},
		{"enrolled node needs no secret", "open", 10, func(r *registry) { r.seen(nodeID('a'), "a", "", now, 10) }, nodeID('a'), false, "", StateEnrolled},
		{"revoked node refused, even with the secret", "open", 10, func(r *registry) { r.setState(nodeID('a'), StateRevoked, now) }, nodeID('a'), true, refRevoked, StateRevoked},
		{"too many nodes", "open", 1, func(r *registry) { r.seen(nodeID('b'), "b", "", now, 10) }, nodeID('a'), true, refTooManyNodes, ""},
		{"revoked nodes do not count", "open", 1, func(r *registry) { r.setState(nodeID('b'), StateRevoked, now) }, nodeID('a'), true, "", ""},
		{"approve: new node waits", "approve", 10, nil, nodeID('a'), true, refPending, StatePending},
		{"approve: approved node admitted", "approve", 10, func(r *registry) {
			r.admit(nodeID('a'), "a", "", true, now)
			r.setState(nodeID('a'), StateEnrolled, now)
		}, nodeID('a'), false, "", StateEnrolled},
		{"allowlist: listed", "allowlist", 10, nil, nodeID('a'), true, "", ""},
		{"allowlist: listed needs the secret to enrol", "allowlist", 10, nil, nodeID('a'), false, refSecret, ""},
		{"allowlist: not listed", "allowlist", 10, nil, nodeID('b'), true, refNotAllowed, ""},
		// A node taken off the list after it enrolled is refused at
		// each reconnect, with or without the secret.
		{"allowlist: enrolled, no longer listed", "allowlist", 10, func(r *registry) { r.seen(nodeID('b'), "b", "", now, 10) }, nodeID('b'), false, refNotAllowed, StateEnrolled},
		{"allowlist: enrolled, no longer listed, with the secret", "allowlist", 10, func(r *registry) { r.seen(nodeID('b'), "b", "", now, 10) }, nodeID('b'), true, refNotAllowed, StateEnrolled},
		{"allowlist: enrolled and listed needs no secret", "allowlist", 10, func(r *registry) { r.seen(nodeID('a'), "a", "", now, 10) }, nodeID('a'), false, "", StateEnrolled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _ := testRegistry(t, tt.policy, tt.maxNodes)
			if tt.setup != nil {
				tt.setup(r)
			}
			ad := r.admit(tt.id, "nick", "192.0.2.1:1234", tt.secretOK, now)
			if got := ad.kind; ad.ok != (tt.want == "") || got != tt.want {
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
	r.seen(nodeID('a'), "gone", "192.0.2.1:1", old, 10)
	r.seen(nodeID('b'), "here", "192.0.2.2:1", time.Now(), 10)
	r.seen(nodeID('c'), "connected", "192.0.2.3:1", old, 10)
	r.setState(nodeID('d'), StateRevoked, old)
	if err := r.save(); err != nil {
		t.Fatal(err)
	}
	r2, err := loadRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(r2.list()); got != 4 {
		t.Fatalf("%d nodes after reload, want 4", got)
	}
	gone := r2.forget(time.Now(), func(id string) bool { return id == nodeID('c') })
	if len(gone) != 1 || gone[0].ID != nodeID('a') {
		t.Errorf("forgot %+v, want node a only (b is recent, c connected, d revoked)", gone)
	}
	if !r2.knownSource("192.0.2.2") || r2.knownSource("192.0.2.9") {
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
			if _, err := loadRegistry(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	cfg := config.DefaultGatherer(t.TempDir())
	cfg.Enrolment.Policy = "allowlist"
	if _, err := loadRegistry(cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing allowlist: err = %v", err)
	}
	os.WriteFile(cfg.Enrolment.Allowlist, []byte("not-an-id\n"), 0o600)
	if _, err := loadRegistry(cfg); err == nil || !strings.Contains(err.Error(), "line 1") {
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
			if !validNodeID(id) {
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
			if !validNodeID(n.ID) {
				t.Errorf("accepted node id %q", n.ID)
			}
		}
	})
}

// TestRefusalsSummarised: a flood of refusals is logged once per kind and
// interval: the first at once, the rest as one summary line.
func TestRefusalsSummarised(t *testing.T) {
	t.Parallel()
	var buf testbin.Buffer
	r := newRefusals(hclog.New(&hclog.LoggerOptions{Output: &buf}), 0)
	r.interval = 200 * time.Millisecond
	for i := range 1000 {
		r.add(refStalled, "192.0.2.1:"+string(rune('0'+i%10)), "", "handshake not done", 1)
		r.add(refSecret, "192.0.2.2:1", "", "wrong secret", 1)
	}
	r.flush(false) // too early: nothing more
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines before the interval ended, want 2 (one per kind):\n%s", n, buf.String())
	}
	time.Sleep(250 * time.Millisecond)
	r.flush(false)
	logs := buf.String()
	if n := strings.Count(logs, "\n"); n != 4 {
		t.Fatalf("%d lines, want 4:\n%s", n, logs)
	}
	if !strings.Contains(logs, "refused peers (summary): kind=handshake_timeout count=999 sources=1 top_sources=\"192.0.2.1 (999)\"") {
		t.Errorf("no summary of the stalled handshakes:\n%s", logs)
	}
	if c := r.counts(); c[refStalled] != 1000 || c[refSecret] != 1000 {
		t.Errorf("counts %v", c)
	}
}

func TestHandshakeBudget(t *testing.T) {
	t.Parallel()
	h := newHandshakes(4, 2)
	h.rand = func() float64 { return 1 } // no early refusal here
	known := func(src string) bool { return src == "192.0.2.9" }
	var got []string
	for _, src := range []string{"192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.9", "192.0.2.9"} {
		ok, kind := h.acquire(src, known)
		if ok {
			kind = "ok"
		}
		got = append(got, kind)
	}
	want := "ok ok too_many_handshakes_from_address ok ok too_many_handshakes ok too_many_handshakes"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	h.release("192.0.2.1")
	if ok, _ := h.acquire("192.0.2.1", nil); ok {
		t.Error("a slot freed over the budget (reserve in use) was handed out")
	}
	if sourceOf("[2001:db8::1]:5") != sourceOf("[2001:db8::2]:6") || sourceOf("192.0.2.1:5") != "192.0.2.1" {
		t.Error("sourceOf does not group an IPv6 /64")
	}
}

// TestHandshakeEarlyRefusalAndPenalty (issue 25, item 6): past half the
// budget new connections are refused at random, more as it fills, and a
// source whose handshakes fail is held off, doubling; known sources are
// exempt from both.
func TestHandshakeEarlyRefusalAndPenalty(t *testing.T) {
	t.Parallel()
	h := newHandshakes(10, 10)
	draw := 0.5
	h.rand = func() float64 { return draw }
	now := time.Unix(1e9, 0)
	h.now = func() time.Time { return now }
	known := func(src string) bool { return src == "192.0.2.9" }
	var got []string
	for i := range 10 {
		ok, kind := h.acquire(fmt.Sprintf("192.0.2.%d", 100+i), known)
		if ok {
			kind = "ok"
		}
		got = append(got, kind)
	}
	// Refused at random from 5 (30 %), more as it fills: 0.5 < p from
	// n = 7 on (p = 0.3 + 0.7·2/5 = 0.58).
	want := "ok ok ok ok ok ok ok too_many_handshakes too_many_handshakes too_many_handshakes"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if ok, _ := h.acquire("192.0.2.9", known); !ok {
		t.Error("a known source was refused early")
	}
	src := "198.51.100.1"
	h.penalize(src, refStalled, known) // the budget is contested (9 of 10)
	if ok, kind := h.acquire(src, known); ok || kind != refPenalty {
		t.Errorf("penalized source: %v %s", ok, kind)
	}
	now = now.Add(penaltyBase + time.Millisecond)
	draw = 1
	if ok, kind := h.acquire(src, known); ok || kind != refPenalty {
		t.Errorf("a source that failed took a slot past half the budget: %v %s", ok, kind)
	}
	for i := range 4 {
		h.release(fmt.Sprintf("192.0.2.%d", 100+i))
	}
	if ok, _ := h.acquire(src, known); !ok {
		t.Error("source still held off after its penalty, under half the budget")
	}
	h.penalize(src, refStalled, known)
	now = now.Add(penaltyBase + time.Millisecond)
	if ok, _ := h.acquire(src, known); ok {
		t.Error("a second failure was not held off twice as long")
	}
	h.penalize("192.0.2.9", refStalled, known)
	h.penalize("203.0.113.1", refPending, known)
	if len(h.pen) != 1 {
		t.Errorf("%d sources penalized; a known source and a pending node are not", len(h.pen))
	}
}

func TestControlOffline(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	if _, err := ControlOffline(cfg, ControlRequest{Op: "revoke", ID: nodeID('a')}); err != nil {
		t.Fatal(err)
	}
	g := startGatherer(t, cfg)
	if resp := g.Control(ControlRequest{Op: "nodes"}); len(resp.Nodes) != 1 || resp.Nodes[0].State != StateRevoked {
		t.Errorf("the revocation made offline is not loaded: %+v", resp)
	}
	if _, err := ControlOffline(cfg, ControlRequest{Op: "nodes"}); err == nil || !strings.Contains(err.Error(), "a gatherer is running") {
		t.Errorf("offline edit while running: err = %v", err)
	}
	resp, err := SendControl(t.Context(), cfg.Basedir, ControlRequest{Op: "approve", ID: nodeID('b')})
	if err != nil || !strings.Contains(resp.Error, "not known") {
		t.Errorf("approve of an unknown node: %+v %v", resp, err)
	}
	if fi, err := os.Stat(filepath.Join(cfg.Basedir, ControlSocket)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket: %v %v", fi, err)
	}
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
		if ad := r.admit(id, "n", "", true, now); ad.ok {
			admitted++
			r.seen(id, "n", "", now, 2000)
		} else if ad.kind != refNewNodeRate {
			t.Fatalf("refused %s: %s", ad.kind, ad.reason)
		}
	}
	if admitted != 3 {
		t.Errorf("%d nodes of 2,000 stats admitted from a bucket of 5,000, want 3", admitted)
	}
	// Enrolled nodes never wait on the bucket.
	if ad := r.admit(fmt.Sprintf("%032d", 0), "n", "", false, now); !ad.ok {
		t.Errorf("an enrolled node was refused: %s", ad.reason)
	}
	// Paid back over time.
	if ad := r.admit("x0000000000000000000000000000000", "n", "", true, now.Add(5*time.Second)); !ad.ok {
		t.Errorf("refused after the bucket refilled: %s", ad.reason)
	}
	if r.held != 6000 {
		t.Errorf("held %d stats, want 6000", r.held)
	}
	r.maxStats = 6000
	if ad := r.admit("y0000000000000000000000000000000", "n", "", true, now.Add(time.Hour)); ad.ok || !strings.Contains(ad.reason, "max_stats_total") {
		t.Errorf("admitted past max_stats_total: %+v", ad)
	}
	// A one-shot node goes after forget_new_after, an old one stays.
	r.forgetNew = time.Hour
	r.nodes[fmt.Sprintf("%032d", 1)].FirstSeen = now.Add(-30 * 24 * time.Hour)
	gone := r.forget(now.Add(2*time.Hour), func(string) bool { return false })
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
		r.admit(fmt.Sprintf("a%031d", i), "n", "192.0.2.1:1000", true, now)
	}
	r.admit("b0000000000000000000000000000000", "n", "192.0.2.2:1000", true, now)
	_, pending, _ := r.counts()
	if pending != config.DefaultMaxPendingPerAddress+1 {
		t.Errorf("%d pending, want %d from one address and 1 from another", pending, config.DefaultMaxPendingPerAddress+1)
	}
	if gone := r.rejectPending("192.0.2.1"); len(gone) != config.DefaultMaxPendingPerAddress {
		t.Errorf("rejected %d from 192.0.2.1", len(gone))
	}
	// A day later the other one has expired, and a new one is taken.
	later := now.Add(config.DefaultPendingExpiry + time.Minute)
	r.admit("c0000000000000000000000000000000", "n", "192.0.2.3:1000", true, later)
	if ns := r.list(); len(ns) != 1 || ns[0].ID != "c0000000000000000000000000000000" {
		t.Errorf("nodes %+v, want only the new pending one", ns)
	}
	if gone := r.forget(later.Add(config.DefaultPendingExpiry+time.Minute), func(string) bool { return false }); len(gone) != 1 {
		t.Errorf("forget dropped %d expired pending nodes, want 1", len(gone))
	}
}

// TestControlRequestBounded (issue 25, item 8): a control request that
// never ends its line is cut at maxControlRequest, not read on and on.
func TestControlRequestBounded(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	startGatherer(t, cfg)
	var c net.Conn
	var err error
	waitFor(t, "the control socket", func() bool {
		c, err = net.Dial("unix", filepath.Join(cfg.Basedir, ControlSocket))
		return err == nil
	})
	defer c.Close()
	go c.Write(bytes.Repeat([]byte("x"), 1<<20))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.Contains(string(b), "request over") {
		t.Errorf("answer %q, want the request refused as too long", b)
	}
}
