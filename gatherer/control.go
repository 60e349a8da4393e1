package gatherer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/durable"
	"github.com/statsherd/statsherd/internal/furl"
)

// Files of the control interface, in the base directory.
const (
	// ControlSocket is the running gatherer's local control socket (mode
	// 0600): `statsherd gatherer nodes|approve|revoke|rotate-secret` talk
	// to it, so they act without a restart.
	ControlSocket = "control.sock"
	// LockFile is locked (flock) by a running gatherer, so the commands
	// know whether to edit the files themselves.
	LockFile = "nodes.lock"
)

// ControlRequest is one request on the control socket: a JSON object on
// one line.
type ControlRequest struct {
	Op string `json:"op"` // nodes, approve, revoke, rotate-secret, reject-pending
	ID string `json:"id,omitempty"`
	// Address limits reject-pending to the nodes last seen at this
	// source address (host:port or an address; IPv6 by its /64).
	Address string `json:"address,omitempty"`
}

// ControlResponse answers a ControlRequest.
type ControlResponse struct {
	Error string `json:"error,omitempty"`
	Nodes []Node `json:"nodes,omitempty"`
	Node  *Node  `json:"node,omitempty"`
	// Furl is the new furl after rotate-secret.
	Furl string `json:"furl,omitempty"`
	// Disconnected is true when revoke closed a live connection.
	Disconnected bool `json:"disconnected,omitempty"`
	// Offline is true when no gatherer ran and the files were edited.
	Offline bool `json:"offline,omitempty"`
}

// listenControl listens on basedir/control.sock (served by Run).
func (g *Gatherer) listenControl() (net.Listener, error) {
	path := filepath.Join(g.cfg.Basedir, ControlSocket)
	os.Remove(path) // a stale socket of a killed gatherer (we hold the lock)
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket (statsherd gatherer nodes/approve/revoke/rotate-secret will not reach this gatherer): %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return ln, nil
}

// serveControl serves the control socket until it is closed.
func (g *Gatherer) serveControl(ctx context.Context, ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go g.handleControl(ctx, c)
		}
	}()
}

// maxControlRequest bounds a control request.
const maxControlRequest = 64 << 10

func (g *Gatherer) handleControl(_ context.Context, c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// One request is a short line: read at most maxControlRequest bytes
	// of it, so that a line that never ends holds no memory (issue 25).
	line, err := bufio.NewReader(io.LimitReader(c, maxControlRequest)).ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) >= maxControlRequest {
			b, _ := json.Marshal(ControlResponse{Error: fmt.Sprintf("request over %d bytes", maxControlRequest)})
			c.Write(append(b, '\n'))
		}
		return
	}
	var req ControlRequest
	var resp ControlResponse
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else {
		resp = g.Control(req)
	}
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

// Control carries out one control request on the running gatherer.
func (g *Gatherer) Control(req ControlRequest) ControlResponse {
	now := time.Now()
	switch req.Op {
	case "nodes":
		nodes := g.nodes.list()
		g.mu.Lock()
		for i := range nodes {
			if h, ok := g.hosts[nodes[i].ID]; ok {
				nodes[i].Connected = true
				nodes[i].LastAddress = h.addr
			}
		}
		g.mu.Unlock()
		return ControlResponse{Nodes: nodes}
	case "approve":
		n, err := g.nodes.setState(req.ID, StateEnrolled, now)
		if err != nil {
			return ControlResponse{Error: err.Error()}
		}
		if err := g.nodes.save(); err != nil {
			return ControlResponse{Error: err.Error(), Node: &n}
		}
		g.log.Info("node approved", "node", n.ID, "nickname", n.Nickname)
		return ControlResponse{Node: &n}
	case "revoke":
		n, err := g.nodes.setState(req.ID, StateRevoked, now)
		if err != nil {
			return ControlResponse{Error: err.Error()}
		}
		g.mu.Lock()
		h := g.hosts[n.ID]
		if h != nil {
			delete(g.hosts, n.ID)
		}
		g.mu.Unlock()
		if h != nil {
			h.refuse("this node is revoked by the gatherer's operator")
		}
		if err := g.nodes.save(); err != nil {
			return ControlResponse{Error: err.Error(), Node: &n, Disconnected: h != nil}
		}
		g.log.Info("node revoked", "node", n.ID, "nickname", n.Nickname, "disconnected", h != nil)
		return ControlResponse{Node: &n, Disconnected: h != nil}
	case "reject-pending":
		gone := g.nodes.rejectPending(req.Address)
		if err := g.nodes.save(); err != nil {
			return ControlResponse{Error: err.Error(), Nodes: gone}
		}
		g.log.Info("pending nodes rejected", "count", len(gone), "address", req.Address)
		return ControlResponse{Nodes: gone}
	case "rotate-secret":
		f, err := g.rotateSecret()
		if err != nil {
			return ControlResponse{Error: err.Error()}
		}
		g.log.Info("secret rotated: new furl written; enrolled nodes keep working, new nodes need the new furl", "furl", f.Redacted())
		return ControlResponse{Furl: f.String()}
	}
	return ControlResponse{Error: fmt.Sprintf("unknown operation %q: use nodes, approve, revoke, reject-pending or rotate-secret", req.Op)}
}

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

// ErrNotRunning is returned (wrapped) by SendControl when no gatherer runs
// in the base directory.
var ErrNotRunning = errors.New("no gatherer is running in this base directory")

// SendControl sends req to the gatherer running in basedir.
func SendControl(ctx context.Context, basedir string, req ControlRequest) (ControlResponse, error) {
	path := filepath.Join(basedir, ControlSocket)
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return ControlResponse{}, fmt.Errorf("%w (%s: %w)", ErrNotRunning, path, err)
		}
		return ControlResponse{}, fmt.Errorf("reaching the gatherer: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return ControlResponse{}, fmt.Errorf("sending to the gatherer: %w", err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return ControlResponse{}, fmt.Errorf("reading the gatherer's answer: %w", err)
	}
	var resp ControlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return ControlResponse{}, fmt.Errorf("the gatherer's answer: %w", err)
	}
	return resp, nil
}

// ControlOffline carries out req on the files of a gatherer that is not
// running (it reads them at start). It fails if a gatherer holds the lock.
func ControlOffline(cfg *config.Gatherer, req ControlRequest) (ControlResponse, error) {
	unlock, err := lockBasedir(cfg.Basedir)
	if err != nil {
		return ControlResponse{}, err
	}
	defer unlock()
	r, err := loadRegistry(&config.Gatherer{Basedir: cfg.Basedir, Enrolment: config.GathererEnrolment{Policy: "open"}, Limits: cfg.Limits})
	if err != nil {
		return ControlResponse{}, err
	}
	now := time.Now()
	resp := ControlResponse{Offline: true}
	switch req.Op {
	case "nodes":
		resp.Nodes = r.list()
		return resp, nil
	case "reject-pending":
		resp.Nodes = r.rejectPending(req.Address)
		return resp, r.save()
	case "approve", "revoke":
		state := StateEnrolled
		if req.Op == "revoke" {
			state = StateRevoked
		}
		n, err := r.setState(req.ID, state, now)
		if err != nil {
			return ControlResponse{}, err
		}
		resp.Node = &n
		return resp, r.save()
	case "rotate-secret":
		s, err := newSecret()
		if err != nil {
			return ControlResponse{}, err
		}
		var fp *furl.FURL
		if f, err := furl.ReadFile(filepath.Join(cfg.Basedir, FurlFile)); err == nil {
			f.Secret = s
			fp = &f
			resp.Furl = f.String()
		}
		return resp, writeSecretAndFurl(cfg.Basedir, s, fp)
	}
	return ControlResponse{}, fmt.Errorf("unknown operation %q: use nodes, approve, revoke, reject-pending or rotate-secret", req.Op)
}

// lockBasedir takes the base directory's lock (held by a running
// gatherer), without waiting.
func lockBasedir(basedir string) (unlock func(), err error) {
	path := filepath.Join(basedir, LockFile)
	f, err := durable.Lock(path)
	if errors.Is(err, durable.ErrLocked) {
		return nil, fmt.Errorf("a gatherer is running in %s (it holds %s) but its control socket %s cannot be reached; check the gatherer's log", basedir, path, filepath.Join(basedir, ControlSocket))
	}
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// FormatNodes writes a node list as a table.
func FormatNodes(nodes []Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-32s %-24s %-9s %-21s %s\n", "STATE", "NODE ID", "NICKNAME", "CONNECTED", "LAST SEEN", "LAST ADDRESS")
	for _, n := range nodes {
		seen := ""
		if !n.LastSeen.IsZero() {
			seen = n.LastSeen.UTC().Format("2006-01-02 15:04:05Z")
		}
		conn := "no"
		if n.Connected {
			conn = "yes"
		}
		fmt.Fprintf(&b, "%-9s %-32s %-24s %-9s %-21s %s\n", n.State, n.ID, n.Nickname, conn, seen, n.LastAddress)
	}
	return b.String()
}
