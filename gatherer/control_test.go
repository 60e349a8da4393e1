package gatherer

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/control"
	"github.com/statsherd/statsherd/gatherer/registry"
)

func nodeID(c byte) string { return strings.Repeat(string(c), 32) }

func TestControlOffline(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	if _, err := control.Offline(cfg, control.Request{Op: "revoke", ID: nodeID('a')}); err != nil {
		t.Fatal(err)
	}
	g := startGatherer(t, cfg)
	if resp := g.Control(control.Request{Op: "nodes"}); len(resp.Nodes) != 1 || resp.Nodes[0].State != registry.StateRevoked {
		t.Errorf("the revocation made offline is not loaded: %+v", resp)
	}
	if _, err := control.Offline(cfg, control.Request{Op: "nodes"}); err == nil || !strings.Contains(err.Error(), "a gatherer is running") {
		t.Errorf("offline edit while running: err = %v", err)
	}
	resp, err := control.Send(t.Context(), cfg.Basedir, control.Request{Op: "approve", ID: nodeID('b')})
	if err != nil || !strings.Contains(resp.Error, "not known") {
		t.Errorf("approve of an unknown node: %+v %v", resp, err)
	}
	if fi, err := os.Stat(filepath.Join(cfg.Basedir, basedir.ControlSocket)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket: %v %v", fi, err)
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
		c, err = net.Dial("unix", filepath.Join(cfg.Basedir, basedir.ControlSocket))
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
