package gatherer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
)

// host is one connected host: the connection, and a reader goroutine that
// receives answers and notices a dropped connection at once.
type host struct {
	id, nickname, addr string
	versions           map[string]string
	since              time.Time
	conn               *wire.Conn
	log                hclog.Logger

	// answers carries decoded answers from the reader to the poller.
	answers chan reply
	// done is closed when the reader stops; err says why.
	done    chan struct{}
	err     error
	closeMu sync.Once

	mu         sync.Mutex
	lastAnswer time.Time
	lastError  string
	polls      int64
}

// reply is one answer, stamped with its arrival time.
type reply struct {
	id    uint64
	at    time.Time
	stats sdk.Stats
	err   error
}

// HostStatus is a connected host as the status page shows it.
type HostStatus struct {
	ID         string            `json:"id"`
	Nickname   string            `json:"nickname"`
	Address    string            `json:"address"`
	Versions   map[string]string `json:"versions,omitempty"`
	Since      time.Time         `json:"connected_since"`
	LastAnswer time.Time         `json:"last_answer,omitzero"`
	LastError  string            `json:"last_error,omitempty"`
	Polls      int64             `json:"polls"`
}

func (h *host) status() HostStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HostStatus{ID: h.id, Nickname: h.nickname, Address: h.addr, Versions: h.versions, Since: h.since,
		LastAnswer: h.lastAnswer, LastError: h.lastError, Polls: h.polls}
}

// close ends the connection; the reader then stops.
func (h *host) close() { h.closeMu.Do(func() { h.conn.NetConn().Close() }) }

// read receives messages until the connection fails. Only answers are
// expected; anything else ends the connection.
func (h *host) read() {
	defer close(h.done)
	for {
		m, err := h.conn.Recv()
		if err != nil {
			h.err = err
			h.close()
			return
		}
		a := m.GetAnswer()
		if a == nil {
			h.err = fmt.Errorf("host sent %s where an answer was expected", wire.Kind(m))
			h.close()
			return
		}
		r := reply{id: a.Id, at: time.Now()}
		if a.Error != "" {
			r.err = errors.New(a.Error)
		} else {
			r.stats, r.err = sdk.StatsFromProto(a.Stats)
			if r.err != nil {
				// Keep the valid part; say what was dropped.
				h.log.Warn("answer had invalid names", "error", r.err)
				r.err = nil
			}
		}
		// The poller waits for at most one answer; a late answer to an
		// earlier poll replaces nothing and is dropped here.
		select {
		case h.answers <- r:
		default:
		}
	}
}

// errDropped means the connection closed while waiting.
var errDropped = errors.New("connection closed")

// poll asks the host for its stats and waits for the answer under timeout.
func (h *host) poll(ctx context.Context, id uint64, timeout time.Duration) (reply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Drop a late answer to an earlier poll.
	select {
	case <-h.answers:
	default:
	}
	nc := h.conn.NetConn()
	nc.SetWriteDeadline(time.Now().Add(timeout))
	if err := h.conn.Send(wire.NewPoll(id, timeout.Milliseconds())); err != nil {
		return reply{}, err
	}
	for {
		select {
		case r := <-h.answers:
			if r.id != id {
				continue
			}
			return r, r.err
		case <-h.done:
			if h.err != nil {
				return reply{}, fmt.Errorf("%w: %w", errDropped, h.err)
			}
			return reply{}, errDropped
		case <-ctx.Done():
			return reply{}, fmt.Errorf("no answer within %v: %w", timeout, ctx.Err())
		}
	}
}

func remoteAddr(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return "?"
}
