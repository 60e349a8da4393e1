package statsd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// statsdReadBuffer is the socket receive buffer the listener asks for, so
// that bursts of packets wait in the kernel instead of being dropped while
// the listener is busy.
const statsdReadBuffer = 16 << 20

// dropLogInterval is the least time between two summaries of dropped lines
// in the log.
const dropLogInterval = time.Minute

// dropKey names the host counter of lines dropped for a reason.
func dropKey(r dropReason) string {
	switch r {
	case dropSyntax:
		return "statsherd.statsd.dropped.syntax"
	case dropType:
		return "statsherd.statsd.dropped.type"
	case dropValue:
		return "statsherd.statsd.dropped.value"
	case dropRate:
		return "statsherd.statsd.dropped.rate"
	case dropName:
		return "statsherd.statsd.dropped.invalid_name"
	case dropTooManyName:
		return "statsherd.statsd.dropped.too_many_names"
	case dropKind:
		return "statsherd.statsd.dropped.type_conflict"
	case dropSetFull:
		return "statsherd.statsd.dropped.set_full"
	}
	return ""
}

// Server is the statsd listener: it parses the lines of every packet
// into the store.
type Server struct {
	log   hclog.Logger
	store *Store
	conn  *net.UDPConn
	// rcvbuf is the receive buffer the kernel granted.
	rcvbuf int
	// kernelDrops says whether the kernel reports its drops (SO_RXQ_OVFL).
	kernelDrops bool
	done        chan struct{}
	// procs raises GOMAXPROCS while a backlog waits (see Procs).
	procs *Procs

	// Guarded by store.mu, like the values they count.
	packets, lines int64
	dropped        [numDropReasons]int64
	// kdrops is the kernel's count of packets dropped on this socket, as
	// last reported with a packet (SO_RXQ_OVFL; a uint32 that wraps, so
	// kept as the sum of its increments).
	kdrops     int64
	kdropsLast uint32
	// sinceLog counts drops by reason since the last summary in the log;
	// example is the first line dropped since then.
	sinceLog [numDropReasons]int64
	example  string
	lastLog  time.Time
	// lastTagLog is when tags that cannot be labels were last logged.
	lastTagLog time.Time
}

// Listen listens on the loopback UDP address addr and counts what arrives
// into st until Close.
func Listen(ctx context.Context, addr string, st *Store, log hclog.Logger) (*Server, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	conn := pc.(*net.UDPConn)
	s := &Server{log: log, store: st, conn: conn, done: make(chan struct{}), procs: procs}
	s.rcvbuf = setReadBuffer(conn, statsdReadBuffer)
	if err := reportKernelDrops(conn); err != nil {
		log.Warn("the kernel will not report statsd packets it drops; statsherd.statsd.dropped.kernel stays 0", "error", err)
	} else {
		s.kernelDrops = true
	}
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() string { return s.conn.LocalAddr().String() }

// ReceiveBuffer is the socket's receive buffer the kernel granted, bytes.
func (s *Server) ReceiveBuffer() int { return s.rcvbuf }

// Serve reads packets until the listener is closed.
func (s *Server) Serve() {
	defer close(s.done)
	s.readLoop()
}

// readErr reports whether the read loop must stop after err.
func (s *Server) readErr(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	s.log.Warn("reading statsd packet", "error", err)
	time.Sleep(10 * time.Millisecond)
	return false
}

// handle applies the lines of one packet.
func (s *Server) handle(packet []byte) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.setNow(time.Now())
	s.handleLocked(packet)
}

// kernelDropped records the kernel's drop count carried by a packet; the
// caller holds s.store.mu.
func (s *Server) kernelDropped(n uint32) {
	s.kdrops += int64(n - s.kdropsLast) // wraps as the kernel's does
	s.kdropsLast = n
}

// handleLocked applies the lines of one packet; the caller holds
// s.store.mu.
func (s *Server) handleLocked(packet []byte) {
	s.packets++
	for len(packet) > 0 {
		var line []byte
		if i := bytes.IndexByte(packet, '\n'); i >= 0 {
			line, packet = packet[:i], packet[i+1:]
		} else {
			line, packet = packet, nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) == 0 {
			continue
		}
		s.lines++
		m, why := parseLine(line)
		if why == dropNone {
			why = s.store.apply(&m)
		}
		if why != dropNone {
			s.drop(why, line)
		}
	}
	if s.store.notLabelSince > 0 {
		s.logNotLabels()
	}
}

// logNotLabels logs, at most once per dropLogInterval, how many DogStatsD
// tags could not be labels since the last time, naming one: their lines
// were kept, the tags folded into their names.
func (s *Server) logNotLabels() {
	now := time.Now()
	if now.Sub(s.lastTagLog) < dropLogInterval {
		return
	}
	st := s.store
	s.log.Warn("statsd tags that cannot be labels kept in the names of their lines (summary, at most once a minute; see statsherd.statsd.tags_not_labels)",
		"tags", st.notLabelSince, "example", st.notLabelExample,
		"rule", "a label is key:value, key [a-zA-Z_][a-zA-Z0-9_]* not starting __, value 1 to 128 bytes of UTF-8, one value per key, at most 16")
	s.lastTagLog, st.notLabelSince, st.notLabelExample = now, 0, ""
}

// drop counts a dropped line, and logs a summary of the drops at most once
// per dropLogInterval.
func (s *Server) drop(why dropReason, line []byte) {
	s.dropped[why]++
	s.sinceLog[why]++
	if s.example == "" {
		s.example = string(line[:min(len(line), 100)])
	}
	now := time.Now()
	if now.Sub(s.lastLog) < dropLogInterval {
		return
	}
	args := []any{"example", s.example}
	for r := dropNone + 1; r < numDropReasons; r++ {
		if s.sinceLog[r] > 0 {
			args = append(args, r.key(), s.sinceLog[r])
		}
	}
	if s.sinceLog[dropTooManyName] > 0 {
		args = append(args, "max_names", s.store.maxNames)
	}
	s.log.Warn("dropped statsd lines (summary, at most once a minute; see statsherd.statsd.dropped.*)", args...)
	s.lastLog, s.example, s.sinceLog = now, "", [numDropReasons]int64{}
}

// key is the reason's last name part in statsherd.statsd.dropped.*.
func (r dropReason) key() string {
	k := dropKey(r)
	return k[len("statsherd.statsd.dropped."):]
}

// addTo adds the listener's own stats.
func (s *Server) AddTo(st sdk.Stats) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	st.Counters["statsherd.statsd.packets"] = s.packets
	st.Counters["statsherd.statsd.lines"] = s.lines
	var total int64
	for why := dropNone + 1; why < numDropReasons; why++ {
		st.Counters[dropKey(why)] = s.dropped[why]
		total += s.dropped[why]
	}
	st.Counters["statsherd.statsd.dropped"] = total
	st.Counters["statsherd.statsd.dropped.kernel"] = s.kdrops
	st.Counters["statsherd.statsd.expired"] = s.store.expired
	st.Counters["statsherd.statsd.tags_not_labels"] = s.store.notLabels
	st.Stats["statsherd.statsd.names"] = sdk.Int(int64(len(s.store.names)))
	st.Stats["statsherd.statsd.receive_buffer_bytes"] = sdk.Int(int64(s.rcvbuf))
}

// Close stops the listener and waits for it.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}
