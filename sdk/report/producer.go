package report

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/statsherd/statsherd/sdk/stat"
)

// Reconnection backoff of RegisterProducer.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// RegisteredError is an error the host gave when refusing a registration.
type RegisteredError struct{ Msg string }

func (e *RegisteredError) Error() string { return "report: the host refused the producer: " + e.Msg }

// Collector is what RegisterProducer polls: an sdk.Producer is one, once
// configured; so is any type with this method. Stats are stat.Stats, which
// sdk.Stats is.
type Collector interface {
	Collect(ctx context.Context) (stat.Stats, error)
}

// RegisterProducer registers p with the statsherd host listening on the
// unix socket at socketPath, under name, and answers the host's polls with
// p.Collect until ctx is done (Tahoe's register_producer). When the
// connection is lost, or the host is not running yet, it reconnects with
// capped exponential backoff. It returns ctx's error when ctx is done, or a
// *RegisteredError at once if the host refuses the name. p must already be
// configured; RegisterProducer never calls Configure or Close.
func RegisterProducer(ctx context.Context, socketPath string, name string, p Collector) error {
	if err := stat.ValidName(name); err != nil {
		return fmt.Errorf("report: producer name: %w", err)
	}
	backoff := minBackoff
	for {
		served, err := serveOnce(ctx, socketPath, name, p)
		var refused *RegisteredError
		if errors.As(err, &refused) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if served {
			backoff = minBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// serveOnce connects, registers, and serves until the connection ends. It
// reports whether the registration was accepted.
func serveOnce(ctx context.Context, socketPath, name string, p Collector) (bool, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath)
	if err != nil {
		return false, fmt.Errorf("report: connecting to the host at %s: %w", socketPath, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	enc := json.NewEncoder(conn)
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), MaxMessage)
	if err := enc.Encode(Hello{Register: name, Protocol: ProtocolVersion, MaxProtocol: ProtocolLabels}); err != nil {
		return false, fmt.Errorf("report: registering: %w", err)
	}
	var w Welcome
	if err := readMsg(sc, &w); err != nil {
		return false, fmt.Errorf("report: registering: %w", err)
	}
	if !w.OK {
		return false, &RegisteredError{Msg: w.Error}
	}
	for {
		var req CollectRequest
		if err := readMsg(sc, &req); err != nil {
			return true, fmt.Errorf("report: reading the host's request: %w", err)
		}
		timeout := time.Duration(req.TimeoutMS) * time.Millisecond
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		st, err := p.Collect(cctx)
		cancel()
		if w.Protocol < ProtocolLabels {
			st = stat.FoldStats(st) // a host before labels
		}
		resp := CollectResponse{ID: req.ID, Stats: st}
		if err != nil {
			resp.Error = err.Error()
		}
		if err := enc.Encode(resp); err != nil {
			return true, fmt.Errorf("report: answering the host: %w", err)
		}
	}
}

func readMsg(sc *bufio.Scanner, v any) error {
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return err
		}
		return errors.New("connection closed")
	}
	return json.Unmarshal(sc.Bytes(), v)
}
