package graphite

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/statsherd/statsherd/outputs/internal/queue"
)

// carbon sends batches to carbon's plaintext receiver. The protocol has
// no acknowledgement, so each batch goes over a connection of its own:
// the lines are written, the sending side is shut (TCP half-close, or
// TLS close_notify), and the batch counts as delivered only when carbon
// closes its side in turn, which it does once it has read every line
// before the end. A batch cut off anywhere before that is sent again
// (carbon keeps one value per timestamp, so a repeat is harmless).
type carbon struct {
	address string
	tls     *tls.Config // nil: plain TCP
	timeout time.Duration
}

// post sends one batch. Carbon never refuses a batch, so every error is
// retried.
func (c *carbon) post(ctx context.Context, e queue.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	d := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	var err error
	if c.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: c.tls}).DialContext(ctx, "tcp", c.address)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.address)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(e.Body); err != nil {
		return fmt.Errorf("writing %d lines: %w", e.Samples, err)
	}
	switch w := conn.(type) {
	case *net.TCPConn:
		err = w.CloseWrite()
	case *tls.Conn:
		err = w.CloseWrite()
	}
	if err != nil {
		return fmt.Errorf("ending the batch: %w", err)
	}
	// Carbon sends nothing; it closes once it has read up to our end.
	if _, err := io.Copy(io.Discard, io.LimitReader(conn, 64<<10)); err != nil {
		return fmt.Errorf("waiting for carbon to take %d lines: %w", e.Samples, err)
	}
	return nil
}
