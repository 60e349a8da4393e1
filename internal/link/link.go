// Package link is the connection between a host and its gatherer: the
// host's side (Link, below) and the gatherer's side of the handshake
// (Accept, Peer, in server.go), with both ends' TLS (tls.go). The
// gatherer's admission policy (enrolment, allowlist, limits) stays in the
// gatherer.
//
// The host dials out to the gatherer named by its furl (so a node may sit
// behind NAT), trying the furl's location hints in order. It accepts the
// gatherer only if the gatherer's certificate has the fingerprint the furl
// names (no CA is involved), authenticates itself with its node identity as
// the TLS client certificate, and presents the furl's secret with its
// nickname and versions (wire.Hello). Once welcomed it answers every poll by
// calling Config.Poll under the poll's deadline. When the connection fails
// or is refused it reconnects, forever, after a capped, jittered
// exponential backoff, logging an unreachable gatherer once per backoff
// step (not once per hint). The backoff starts over after a connection that
// answered polls; a connection dropped before any poll backs off further.
//
// Use:
//
//	l, err := link.New(cfg)
//	go l.Run(ctx)          // until ctx is done
//	st := l.Status()       // at any time, from any goroutine
//
// or simply link.Run(ctx, cfg). Status reports whether the link is
// connected, to which address, the node id the gatherer gave, when the last
// poll came, how many polls were answered, and the last error with its
// time; it is what a host shows on its status page.
package link

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/wire"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

// DefaultMaxBackoff is the default cap of the reconnect backoff.
const DefaultMaxBackoff = 60 * time.Second

// Config configures a link.
type Config struct {
	// Furl names the gatherer.
	Furl furl.FURL
	// Identity is the node's identity, presented as the client certificate.
	Identity *identity.Identity
	// Nickname and Versions are sent to the gatherer in the hello.
	Nickname string
	Versions map[string]string
	// Poll collects the host's stats; it is called once per poll, never
	// concurrently with itself, under the poll's deadline.
	Poll func(ctx context.Context) sdk.Stats
	// PollWithin, if set, is called instead of Poll with the gatherer's
	// quotas on an answer, which the stats it returns must keep to (the
	// host sheds stats to fit).
	PollWithin func(ctx context.Context, lim Limits) sdk.Stats
	// Log receives the link's log lines; nil means none.
	Log hclog.Logger
	// MinBackoff and MaxBackoff bound the wait between connection
	// attempts: it starts at MinBackoff, doubles after each failed attempt
	// up to MaxBackoff, and each wait is jittered down by up to half.
	// Once a gatherer has welcomed the link, the cap is also at most
	// the gatherer's poll interval (never below MinBackoff), so that after
	// a gatherer restart the fleet is back within about one poll interval.
	// Defaults 1 s and 60 s.
	MinBackoff, MaxBackoff time.Duration
	// HandshakeTimeout bounds dialing one hint, the TLS handshake and the
	// hello/welcome exchange. Default 20 s.
	HandshakeTimeout time.Duration
	// RefusedBackoff is the wait after a refusal a retry cannot fix
	// (revoked, wrong secret, duplicate key, not on the allowlist); a node
	// waiting for approval asks again every PendingInterval instead.
	// Defaults 10 min and the gatherer's poll interval (MaxBackoff
	// before any welcome).
	RefusedBackoff, PendingInterval time.Duration
}

// Limits are a gatherer's quotas on one answer, as its Welcome says
// them: the answer is refused whole beyond either.
type Limits struct {
	// MaxStats bounds the counters and stats.
	MaxStats int
	// MaxMessageSize bounds the answer's message, in bytes.
	MaxMessageSize int
}

// Quotas of gatherers that do not say theirs (from before Welcome said
// them): their defaults.
const (
	OldMaxStats       = 20000
	OldMaxMessageSize = 4 << 20
)

// limitsOf are the quotas w says, or those of an older gatherer.
func limitsOf(w *wire.Welcome) Limits {
	lim := Limits{MaxStats: int(w.GetMaxStats()), MaxMessageSize: int(w.GetMaxMessageSize())}
	if lim.MaxStats <= 0 {
		lim.MaxStats = OldMaxStats
	}
	if lim.MaxMessageSize <= 0 {
		lim.MaxMessageSize = OldMaxMessageSize
	}
	return lim
}

// Status is a snapshot of a link's state.
type Status struct {
	// Connected is true while the gatherer has welcomed the host.
	Connected bool `json:"connected"`
	// Gatherer is the address connected to, or last tried.
	Gatherer string `json:"gatherer"`
	// Furl is the furl with its secret hidden.
	Furl string `json:"furl"`
	// NodeID is the node's id, as the gatherer confirmed it.
	NodeID string `json:"node_id"`
	// ConnectedSince is when the current connection was welcomed.
	ConnectedSince time.Time `json:"connected_since,omitzero"`
	// LastPoll is when the last poll was answered; Polls counts answers.
	LastPoll time.Time `json:"last_poll,omitzero"`
	Polls    int64     `json:"polls"`
	// Connects counts connections welcomed.
	Connects int64 `json:"connects"`
	// LastError and LastErrorTime are the last failure, if any.
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	// NextAttempt is when a disconnected link will try again.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Refused is the refusal a retry cannot fix that the gatherer last
	// gave (pending, revoked, wrong_secret, duplicate_key, not_allowed),
	// "" since a welcome or a network error.
	Refused string `json:"refused,omitempty"`
}

// Link is a host's connection to its gatherer.
type Link struct {
	cfg Config
	log hclog.Logger

	mu     sync.Mutex
	status Status
}

// New checks cfg and returns a link; nothing happens until Run.
func New(cfg Config) (*Link, error) {
	if cfg.Identity == nil {
		return nil, errors.New("link: no node identity")
	}
	if cfg.Poll == nil {
		return nil, errors.New("link: no Poll function")
	}
	if len(cfg.Furl.Hints) == 0 || cfg.Furl.Fingerprint == "" {
		return nil, errors.New("link: furl has no location hints or fingerprint")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 20 * time.Second
	}
	if cfg.RefusedBackoff <= 0 {
		cfg.RefusedBackoff = DefaultRefusedBackoff
	}
	log := cfg.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Link{
		cfg:    cfg,
		log:    log.Named("link").With("furl", cfg.Furl.Redacted()),
		status: Status{Furl: cfg.Furl.Redacted(), NodeID: cfg.Identity.ID},
	}, nil
}

// Run connects with cfg and keeps the connection until ctx is done. It
// returns an error only if cfg is invalid.
func Run(ctx context.Context, cfg Config) error {
	l, err := New(cfg)
	if err != nil {
		return err
	}
	l.Run(ctx)
	return nil
}

// Status returns a snapshot of the link's state.
func (l *Link) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

func (l *Link) update(f func(*Status)) {
	l.mu.Lock()
	f(&l.status)
	l.mu.Unlock()
}

func (l *Link) fail(err error) {
	l.update(func(s *Status) {
		s.Connected = false
		s.LastError = err.Error()
		s.LastErrorTime = time.Now()
	})
}

// Run keeps the link up until ctx is done.
func (l *Link) Run(ctx context.Context) {
	backoff := l.cfg.MinBackoff
	limit := l.cfg.MaxBackoff
	// The gatherer's poll interval, once one welcomed us; until then the
	// backoff's cap (default 60 s, the default poll interval).
	pollInterval := l.cfg.MaxBackoff
	for ctx.Err() == nil {
		sess, err := l.connect(ctx)
		if err == nil && sess.pollInterval > 0 {
			limit = max(min(l.cfg.MaxBackoff, sess.pollInterval), l.cfg.MinBackoff)
			pollInterval = sess.pollInterval
		}
		if ctx.Err() != nil {
			if sess != nil {
				sess.conn.NetConn().Close()
			}
			return
		}
		var wait time.Duration
		if err == nil {
			var answered int
			answered, err = l.serve(ctx, sess)
			if ctx.Err() != nil {
				return
			}
			// A connection that answered polls was good: start over. One
			// that ended before any poll (a gatherer that welcomes and
			// drops, another host with the same key) backs off further.
			if answered > 0 {
				backoff = l.cfg.MinBackoff
			}
			l.fail(err)
			if r, ok := classify(err); ok {
				wait = l.refused(r, err, pollInterval)
			} else {
				l.update(func(s *Status) { s.Refused = "" })
				wait = jitter(backoff)
				l.log.Warn("lost connection to gatherer", "address", sess.addr, "error", err, "retry_in", wait.Round(time.Millisecond))
				if answered == 0 {
					backoff = min(backoff*2, limit)
				}
			}
		} else {
			l.fail(err)
			if r, ok := classify(err); ok {
				wait = l.refused(r, err, pollInterval)
			} else {
				l.update(func(s *Status) { s.Refused = "" })
				wait = jitter(backoff)
				l.log.Warn("gatherer unreachable", "error", err, "retry_in", wait.Round(time.Millisecond))
				backoff = min(backoff*2, limit)
			}
		}
		l.update(func(s *Status) { s.NextAttempt = time.Now().Add(wait) })
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// refused records a refusal a retry cannot fix, logs it once per change
// (with its fix), and returns the wait before asking again: the poll
// interval for a node waiting for approval, RefusedBackoff otherwise.
func (l *Link) refused(r refusal, err error, pollInterval time.Duration) time.Duration {
	wait := l.cfg.RefusedBackoff
	if r.kind == "pending" {
		wait = pollInterval
		if l.cfg.PendingInterval > 0 {
			wait = l.cfg.PendingInterval
		}
	}
	var changed bool
	l.update(func(s *Status) {
		changed = s.Refused != r.kind
		s.Refused = r.kind
	})
	if changed {
		args := []any{"refusal", r.kind, "error", err, "fix", r.fix, "retry_every", wait}
		if r.kind == "pending" {
			l.log.Warn("the gatherer holds this node until its operator approves it", args...)
		} else {
			l.log.Error("the gatherer refuses this node; retrying will not help until this is fixed (said once)", args...)
		}
	}
	return wait
}

// jitter returns a random duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// session is one welcomed connection.
type session struct {
	conn         *wire.Conn
	addr         string
	pollInterval time.Duration
	limits       Limits
	// flat says the gatherer predates labels (wire protocol 1): answers
	// carry every series folded into a flat name.
	flat bool
}

// connect tries every hint in order and returns the first welcomed
// connection. The error names every hint's failure.
func (l *Link) connect(ctx context.Context) (*session, error) {
	var errs []string
	for _, addr := range l.cfg.Furl.Hints {
		l.update(func(s *Status) { s.Gatherer = addr })
		sess, err := l.dial(ctx, addr)
		if err == nil {
			return sess, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		l.log.Debug("connection attempt failed", "address", addr, "error", err)
		if errors.Is(err, ErrRefused) {
			// The gatherer answered: its refusal is the answer, whatever
			// the other hints would say.
			return nil, fmt.Errorf("%s: %w", addr, err)
		}
		errs = append(errs, addr+": "+err.Error())
	}
	return nil, errors.New(strings.Join(errs, "; "))
}

// dial connects to one address and does the hello/welcome exchange, all
// under HandshakeTimeout.
func (l *Link) dial(ctx context.Context, addr string) (*session, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.HandshakeTimeout)
	defer cancel()
	d := tls.Dialer{
		NetDialer: &net.Dialer{KeepAlive: 30 * time.Second},
		Config:    TLSConfig(l.cfg.Identity, l.cfg.Furl.Fingerprint),
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			nc.Close()
		}
	}()
	if dl, has := ctx.Deadline(); has {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c := wire.NewConn(nc, wire.MaxHandshakeSize)
	if err := c.Send(wire.NewHello(l.cfg.Furl.Secret, l.cfg.Nickname, l.cfg.Versions)); err != nil {
		return nil, err
	}
	m, err := c.Recv()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for welcome: %w", ctx.Err())
		}
		return nil, fmt.Errorf("waiting for welcome: %w", err)
	}
	switch b := m.Body.(type) {
	case *wire.Message_Welcome:
		if !stop() {
			return nil, fmt.Errorf("waiting for welcome: %w", ctx.Err())
		}
		nc.SetDeadline(time.Time{})
		// Small TLS records: the gatherer keeps a buffer the size of
		// the largest record it read, per host.
		c.SetWriteChunk(wire.SmallRecord)
		w := b.Welcome
		l.update(func(s *Status) {
			s.Connected, s.Gatherer, s.ConnectedSince = true, addr, time.Now()
			s.NextAttempt, s.Refused = time.Time{}, ""
			s.Connects++
			if w.NodeId != "" {
				s.NodeID = w.NodeId
			}
		})
		l.log.Info("connected to gatherer", "address", addr, "node_id", w.NodeId)
		ok = true
		return &session{conn: c, addr: addr, pollInterval: time.Duration(w.PollIntervalMs) * time.Millisecond, limits: limitsOf(w),
			flat: w.Protocol < wire.ProtocolLabels}, nil
	case *wire.Message_Refuse:
		return nil, fmt.Errorf("%w: %.200s", ErrRefused, b.Refuse.Reason)
	default:
		return nil, fmt.Errorf("gatherer sent %s instead of welcome", wire.Kind(m))
	}
}

// idleTimeout is how long a welcomed host waits for a poll before it takes
// the connection for dead.
func idleTimeout(pollInterval time.Duration) time.Duration {
	if pollInterval <= 0 {
		pollInterval = time.Minute
	}
	return 3*pollInterval + time.Minute
}

// serve answers polls until the connection fails or ctx is done, and
// returns how many it answered.
func (l *Link) serve(ctx context.Context, sess *session) (answered int, err error) {
	nc := sess.conn.NetConn()
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	idle := idleTimeout(sess.pollInterval)
	for {
		nc.SetReadDeadline(time.Now().Add(idle))
		m, err := sess.conn.Recv()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return answered, fmt.Errorf("no poll for %v: %w", idle, err)
			}
			return answered, err
		}
		if r := m.GetRefuse(); r != nil {
			// Over a quota, revoked, a duplicate key: the gatherer says why.
			return answered, fmt.Errorf("%w: %.300s", ErrRefused, r.Reason)
		}
		p := m.GetPoll()
		if p == nil {
			return answered, fmt.Errorf("gatherer sent %s instead of poll", wire.Kind(m))
		}
		timeout := time.Duration(p.TimeoutMs) * time.Millisecond
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		// Leave a tenth of the deadline for the answer's way back.
		pctx, cancel := context.WithTimeout(ctx, timeout*9/10)
		var st sdk.Stats
		if l.cfg.PollWithin != nil {
			st = l.cfg.PollWithin(pctx, sess.limits)
		} else {
			st = l.cfg.Poll(pctx)
		}
		cancel()
		if sess.flat {
			st = sdk.FoldStats(st) // a gatherer before labels
		}
		nc.SetWriteDeadline(time.Now().Add(timeout))
		if err := sess.conn.Send(wire.NewAnswer(&wire.Answer{Id: p.Id, Stats: daemon.StatsToProto(st)})); err != nil {
			return answered, err
		}
		// The deadline is the answer's: cleared once it is written, its
		// timer would otherwise still wake an idle host when it passes.
		nc.SetWriteDeadline(time.Time{})
		answered++
		now := time.Now()
		l.update(func(s *Status) { s.LastPoll = now; s.Polls++ })
	}
}
