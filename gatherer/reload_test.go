package gatherer

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer/registry"
)

// TestReloadAllowlist: a node taken off the allowlist is disconnected at
// the reload (SIGHUP) and kept out; the others stay; a damaged allowlist
// leaves the one read before in force.
func TestReloadAllowlist(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Enrolment.Policy = "allowlist"
	writeAllow := func(ids ...string) {
		t.Helper()
		// A distinct time each write, so that the change is seen even
		// on a file system with coarse times.
		if err := os.WriteFile(cfg.Enrolment.Allowlist, []byte(strings.Join(ids, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		os.Chtimes(cfg.Enrolment.Allowlist, now, now)
	}
	writeAllow("# nobody yet")
	g := startGatherer(t, cfg)
	_, a, _ := startHost(t, g.Furl(), "a", nil)
	_, b, _ := startHost(t, g.Furl(), "b", nil)
	writeAllow(a.ID, b.ID)
	waitFor(t, "both hosts admitted", func() bool { return g.hosts.IsConnected(a.ID) && g.hosts.IsConnected(b.ID) })
	// Enrolled (at a first good answer) before b leaves the list: an
	// enrolled node is let in without the secret, but not past the list.
	waitFor(t, "both hosts enrolled", func() bool {
		enrolled := 0
		for _, n := range g.nodes.List() {
			if (n.ID == a.ID || n.ID == b.ID) && n.State == registry.StateEnrolled {
				enrolled++
			}
		}
		return enrolled == 2
	})

	writeAllow("not-a-node-id")
	if err := g.Reload(); err == nil {
		t.Errorf("Reload with a damaged allowlist: no error")
	}
	if !g.hosts.IsConnected(a.ID) || !g.hosts.IsConnected(b.ID) {
		t.Errorf("a damaged allowlist disconnected nodes")
	}

	writeAllow(a.ID)
	if err := g.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if g.hosts.IsConnected(b.ID) {
		t.Errorf("b is still connected after it left the allowlist")
	}
	// b re-dials every 100 ms at most: it must be refused each time.
	time.Sleep(time.Second)
	if g.hosts.IsConnected(b.ID) || !g.hosts.IsConnected(a.ID) {
		t.Errorf("after the reload: a connected %v (want true), b connected %v (want false)", g.hosts.IsConnected(a.ID), g.hosts.IsConnected(b.ID))
	}
	if !strings.Contains(g.logs.String(), "no longer on the allowlist") {
		t.Errorf("no log line for the disconnection:\n%s", g.logs.String())
	}

	// Deleted: the list read before stays in force, as the reload says
	// (issue 25).
	os.Remove(cfg.Enrolment.Allowlist)
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Reload with the allowlist deleted: %v", err)
	}
	if ad := g.nodes.Admit(a.ID, "a", "", false, time.Now()); !ad.OK || !g.hosts.IsConnected(a.ID) {
		t.Errorf("with the allowlist deleted, a node on the list read before was refused: %+v", ad)
	}
	if ad := g.nodes.Admit(b.ID, "b", "", true, time.Now()); ad.OK {
		t.Errorf("with the allowlist deleted, a node not on the list read before was admitted")
	}
}

// TestReloadOpenPolicy: under the open policy a reload changes nothing
// and says so.
func TestReloadOpenPolicy(t *testing.T) {
	t.Parallel()
	g := startGatherer(t, testConfig(t))
	if err := g.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if !strings.Contains(g.logs.String(), "nothing to reload") {
		t.Errorf("reload under the open policy said:\n%s", g.logs.String())
	}
}
