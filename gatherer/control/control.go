// Package control is the gatherer's control socket: the requests of
// `statsherd gatherer nodes|approve|revoke|reject-pending|rotate-secret`,
// the socket's server in a running gatherer (Serve, Live), its client
// (Send), and the same requests carried out on the files of a gatherer
// that is not running (Offline).
package control

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
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/registry"
	"github.com/statsherd/statsherd/internal/furl"
)

// Request is one request on the control socket: a JSON object on
// one line.
type Request struct {
	Op string `json:"op"` // nodes, approve, revoke, rotate-secret, reject-pending
	ID string `json:"id,omitempty"`
	// Address limits reject-pending to the nodes last seen at this
	// source address (host:port or an address; IPv6 by its /64).
	Address string `json:"address,omitempty"`
}

// Response answers a Request.
type Response struct {
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

// Listen listens on dir/control.sock, the socket of the gatherer whose
// base directory is dir (which holds its lock), readable and writable by
// its owner alone.
//
// The socket is made in a private directory of its own (0700: no other
// user can reach it there), given mode 0600, and only then moved into
// place, so that there is no moment in which another user could connect
// (a connection queued then would be accepted later). No process-wide
// umask is set for it: that would race with every file and directory the
// process, or a plugin process it starts, makes at the same moment (they
// would be made 0600; seen as munin unable to read the snapshot).
func Listen(dir string) (net.Listener, error) {
	path := filepath.Join(dir, basedir.ControlSocket)
	os.Remove(path) // a stale socket of a killed gatherer (we hold the lock)
	ln, err := listenPrivate(dir, path)
	if err != nil {
		return nil, fmt.Errorf("control socket (statsherd gatherer nodes/approve/revoke/rotate-secret will not reach this gatherer): %w", err)
	}
	return ln, nil
}

func listenPrivate(dir, path string) (net.Listener, error) {
	tmp, err := os.MkdirTemp(dir, ".c") // short: see maxSocketPath
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	made := filepath.Join(tmp, basedir.ControlSocket)
	if len(made) > maxSocketPath {
		return nil, fmt.Errorf("%s: the base directory's path is too long for a unix socket made beside it (%d bytes; a socket's path holds at most %d): use a shorter base directory", path, len(made), maxSocketPath)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: made, Net: "unix"})
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(made, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Rename(made, path); err != nil {
		ln.Close()
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	return placedListener{ln, path}, nil
}

// maxSocketPath is the longest path a unix socket can be bound to on
// Linux (sun_path's 108 bytes, one for the terminating NUL).
const maxSocketPath = 107

// placedListener is a listener moved to path: closing it removes the
// socket from there (the listener itself knows only where it was made).
type placedListener struct {
	*net.UnixListener
	path string
}

func (l placedListener) Close() error {
	err := l.UnixListener.Close()
	os.Remove(l.path)
	return err
}

// Serve serves the control socket until it is closed, each request by
// do.
func Serve(ctx context.Context, ln net.Listener, do func(Request) Response) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(ctx, c, do)
		}
	}()
}

// maxControlRequest bounds a control request.
const maxControlRequest = 64 << 10

func handle(_ context.Context, c net.Conn, do func(Request) Response) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	// One request is a short line: read at most maxControlRequest bytes
	// of it, so that a line that never ends holds no memory (issue 25).
	line, err := bufio.NewReader(io.LimitReader(c, maxControlRequest)).ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) >= maxControlRequest {
			b, _ := json.Marshal(Response{Error: fmt.Sprintf("request over %d bytes", maxControlRequest)})
			c.Write(append(b, '\n'))
		}
		return
	}
	var req Request
	var resp Response
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else {
		resp = do(req)
	}
	b, _ := json.Marshal(resp)
	c.Write(append(b, '\n'))
}

// Live is a running gatherer, as the control requests act on it.
type Live struct {
	Nodes *registry.Registry
	// Mark sets Connected and LastAddress of the connected nodes among
	// nodes.
	Mark func(nodes []registry.Node)
	// Disconnect drops node id's connection, if any, telling the host
	// reason; false: it was not connected.
	Disconnect func(id, reason string) bool
	// RotateSecret makes a new secret, writes it and the new furl, and
	// uses it from then on.
	RotateSecret func() (furl.FURL, error)
	Log          hclog.Logger
}

// Do carries out one control request on the running gatherer.
func (l Live) Do(req Request) Response {
	now := time.Now()
	switch req.Op {
	case "nodes":
		nodes := l.Nodes.List()
		l.Mark(nodes)
		return Response{Nodes: nodes}
	case "approve":
		n, err := l.Nodes.SetState(req.ID, registry.StateEnrolled, now)
		if err != nil {
			return Response{Error: err.Error()}
		}
		if err := l.Nodes.Save(); err != nil {
			return Response{Error: err.Error(), Node: &n}
		}
		l.Log.Info("node approved", "node", n.ID, "nickname", n.Nickname)
		return Response{Node: &n}
	case "revoke":
		n, err := l.Nodes.SetState(req.ID, registry.StateRevoked, now)
		if err != nil {
			return Response{Error: err.Error()}
		}
		disconnected := l.Disconnect(n.ID, "this node is revoked by the gatherer's operator")
		if err := l.Nodes.Save(); err != nil {
			return Response{Error: err.Error(), Node: &n, Disconnected: disconnected}
		}
		l.Log.Info("node revoked", "node", n.ID, "nickname", n.Nickname, "disconnected", disconnected)
		return Response{Node: &n, Disconnected: disconnected}
	case "reject-pending":
		gone := l.Nodes.RejectPending(req.Address)
		if err := l.Nodes.Save(); err != nil {
			return Response{Error: err.Error(), Nodes: gone}
		}
		l.Log.Info("pending nodes rejected", "count", len(gone), "address", req.Address)
		return Response{Nodes: gone}
	case "rotate-secret":
		f, err := l.RotateSecret()
		if err != nil {
			return Response{Error: err.Error()}
		}
		l.Log.Info("secret rotated: new furl written; enrolled nodes keep working, new nodes need the new furl", "furl", f.Redacted())
		return Response{Furl: f.String()}
	}
	return Response{Error: fmt.Sprintf("unknown operation %q: use nodes, approve, revoke, reject-pending or rotate-secret", req.Op)}
}
