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
	"syscall"
	"time"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/registry"
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
	Error string          `json:"error,omitempty"`
	Nodes []registry.Node `json:"nodes,omitempty"`
	Node  *registry.Node  `json:"node,omitempty"`
	// Furl is the new furl after rotate-secret.
	Furl string `json:"furl,omitempty"`
	// Disconnected is true when revoke closed a live connection.
	Disconnected bool `json:"disconnected,omitempty"`
	// Offline is true when no gatherer ran and the files were edited.
	Offline bool `json:"offline,omitempty"`
}

// listenControl listens on basedir/control.sock (served by Run).
func (g *Gatherer) listenControl() (net.Listener, error) {
	path := filepath.Join(g.cfg.Basedir, basedir.ControlSocket)
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
		nodes := g.nodes.List()
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
		n, err := g.nodes.SetState(req.ID, registry.StateEnrolled, now)
		if err != nil {
			return ControlResponse{Error: err.Error()}
		}
		if err := g.nodes.Save(); err != nil {
			return ControlResponse{Error: err.Error(), Node: &n}
		}
		g.log.Info("node approved", "node", n.ID, "nickname", n.Nickname)
		return ControlResponse{Node: &n}
	case "revoke":
		n, err := g.nodes.SetState(req.ID, registry.StateRevoked, now)
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
		if err := g.nodes.Save(); err != nil {
			return ControlResponse{Error: err.Error(), Node: &n, Disconnected: h != nil}
		}
		g.log.Info("node revoked", "node", n.ID, "nickname", n.Nickname, "disconnected", h != nil)
		return ControlResponse{Node: &n, Disconnected: h != nil}
	case "reject-pending":
		gone := g.nodes.RejectPending(req.Address)
		if err := g.nodes.Save(); err != nil {
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
