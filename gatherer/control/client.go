package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/statsherd/statsherd/gatherer/basedir"
)

// The control socket's client, beside its server (Serve): what
// `statsherd gatherer nodes|approve|revoke|rotate-secret` sends.

// ErrNotRunning is returned (wrapped) by Send when no gatherer runs
// in the base directory.
var ErrNotRunning = errors.New("no gatherer is running in this base directory")

// Send sends req to the gatherer running in basedir.
func Send(ctx context.Context, dir string, req Request) (Response, error) {
	path := filepath.Join(dir, basedir.ControlSocket)
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return Response{}, fmt.Errorf("%w (%s: %w)", ErrNotRunning, path, err)
		}
		return Response{}, fmt.Errorf("reaching the gatherer: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	b, _ := json.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return Response{}, fmt.Errorf("sending to the gatherer: %w", err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return Response{}, fmt.Errorf("reading the gatherer's answer: %w", err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return Response{}, fmt.Errorf("the gatherer's answer: %w", err)
	}
	return resp, nil
}
