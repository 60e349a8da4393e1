package status

import (
	"math"
	"sync"
	"time"
	"unsafe"

	"github.com/statsherd/statsherd/gatherer/refusal"
)

// The fleet's health over time: a summary of every round, in two rings
// bounded whatever the fleet: the last hour round by round (an hour of
// rounds at the poll interval, hourRounds summaries at most: a round a
// second), and the last 24 hours by minute (dayMinutes summaries, each
// merging the rounds of its minute). A summary is ≈ 160 bytes, so both
// take ≈ 800 KB at most; a ring grows as rounds come, so a gatherer
// polling every 60 s holds ≈ 10 KB for its hour and reaches the day's
// 230 KB only after a day.

const (
	hourRounds = 3600
	dayMinutes = 24 * 60
	// maxPlotOutputs is the outputs whose write times a summary keeps.
	maxPlotOutputs = 8
	// maxRefusalKinds bounds the refusal kinds a summary counts
	// (refusal.Kinds has 20; the rest are not counted).
	maxRefusalKinds = 24
)

// roundSummary is one round, or the rounds of one minute.
type roundSummary struct {
	start    int64 // unix milliseconds
	rounds   int32
	hosts    int32 // connected when the round began (the largest, merged)
	answers  int32 // summed when merged
	failures int32
	pollMS   float32 // the longest
	// writeMS is each output's last write time as of the round (-1: none).
	writeMS [maxPlotOutputs]float32
	// refused counts refusals by kind (refusal.Kinds' order) during the
	// round.
	refused [maxRefusalKinds]uint32
}

// roundSummarySize is the bytes of one summary, for the bound above.
const roundSummarySize = int(unsafe.Sizeof(roundSummary{}))

// ring is a ring of at most size summaries; its buffer grows as they
// come, up to size, and then wraps.
type ring struct {
	buf  []roundSummary
	size int
	next int
	n    int
}

func (r *ring) add(s roundSummary) {
	if len(r.buf) < r.size {
		// Still growing: the summaries are buf in order, next is the end.
		if len(r.buf) == cap(r.buf) {
			r.buf = append(make([]roundSummary, 0, min(r.size, max(16, 2*cap(r.buf)))), r.buf...)
		}
		r.buf = append(r.buf, s)
		r.next, r.n = len(r.buf)%r.size, len(r.buf)
		return
	}
	r.buf[r.next] = s
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// last returns the newest summary, or nil.
func (r *ring) last() *roundSummary {
	if r.n == 0 {
		return nil
	}
	return &r.buf[(r.next-1+len(r.buf))%len(r.buf)]
}

// since returns the summaries from t on, oldest first.
func (r *ring) since(t int64) []roundSummary {
	out := make([]roundSummary, 0, r.n)
	for i := range r.n {
		s := r.buf[(r.next-r.n+i+len(r.buf))%len(r.buf)]
		if s.start >= t {
			out = append(out, s)
		}
	}
	return out
}

// fleetHistory is the gatherer's rings, and the refusal counts at the
// previous round (refusals are recorded as each round's increase).
type fleetHistory struct {
	mu          sync.Mutex
	hour, day   ring
	lastRefused map[string]int64
	outputs     []string
}

// newFleetHistory returns empty rings for rounds every pollInterval (at
// most one a second; 0 means as many).
func newFleetHistory(pollInterval time.Duration) *fleetHistory {
	hour := hourRounds
	if pollInterval > time.Second {
		// An hour of rounds, and the one an hour ago.
		hour = min(hourRounds, int((time.Hour+pollInterval-1)/pollInterval)+1)
	}
	return &fleetHistory{hour: ring{size: hour}, day: ring{size: dayMinutes}}
}

// record adds a round. refused are the refusal totals now; writeSecs the
// outputs' last write times.
func (h *fleetHistory) record(start time.Time, hosts, answers, failures int, poll time.Duration, writeSecs []float64, refused map[string]int64) {
	s := roundSummary{start: start.UnixMilli(), rounds: 1, hosts: int32(hosts), answers: int32(answers), failures: int32(failures),
		pollMS: float32(poll.Seconds() * 1000)}
	for i := range s.writeMS {
		s.writeMS[i] = -1
		if i < len(writeSecs) {
			s.writeMS[i] = float32(writeSecs[i] * 1000)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, k := range refusal.Kinds[:min(len(refusal.Kinds), maxRefusalKinds)] {
		if d := refused[k] - h.lastRefused[k]; d > 0 {
			s.refused[i] = uint32(min(d, math.MaxUint32))
		}
	}
	h.lastRefused = refused
	h.hour.add(s)
	minute := start.Truncate(time.Minute).UnixMilli()
	if m := h.day.last(); m != nil && m.start == minute {
		m.rounds++
		m.hosts = max(m.hosts, s.hosts)
		m.answers += s.answers
		m.failures += s.failures
		m.pollMS = max(m.pollMS, s.pollMS)
		for i := range m.writeMS {
			m.writeMS[i] = max(m.writeMS[i], s.writeMS[i])
		}
		for i := range m.refused {
			m.refused[i] += s.refused[i]
		}
		return
	}
	s.start = minute
	h.day.add(s)
}

// HistoryPoint is one summary in the JSON twin.
type HistoryPoint struct {
	Time           time.Time          `json:"time"`
	Rounds         int                `json:"rounds"`
	HostsConnected int                `json:"hosts_connected"`
	Answers        int                `json:"answers"`
	Failures       int                `json:"failures"`
	PollSeconds    float64            `json:"poll_seconds"`
	WriteSeconds   map[string]float64 `json:"write_seconds,omitempty"`
	Refused        map[string]int64   `json:"refused,omitempty"`
}

// History is the fleet's health over time: the last hour round by round,
// the last 24 hours by minute (answers, failures and refusals summed over
// the minute's rounds, hosts and times the largest).
type History struct {
	Outputs []string       `json:"outputs"`
	Hour    []HistoryPoint `json:"last_hour"`
	Day     []HistoryPoint `json:"last_24h"`
}

func (h *fleetHistory) snapshot(now time.Time) History {
	h.mu.Lock()
	hour := h.hour.since(now.Add(-time.Hour).UnixMilli())
	day := h.day.since(now.Add(-24 * time.Hour).UnixMilli())
	outputs := h.outputs
	h.mu.Unlock()
	conv := func(ss []roundSummary) []HistoryPoint {
		out := make([]HistoryPoint, len(ss))
		for i, s := range ss {
			p := HistoryPoint{Time: time.UnixMilli(s.start), Rounds: int(s.rounds), HostsConnected: int(s.hosts), Answers: int(s.answers),
				Failures: int(s.failures), PollSeconds: float64(s.pollMS) / 1000}
			for j, name := range outputs {
				if j < maxPlotOutputs && s.writeMS[j] >= 0 {
					if p.WriteSeconds == nil {
						p.WriteSeconds = map[string]float64{}
					}
					p.WriteSeconds[name] = float64(s.writeMS[j]) / 1000
				}
			}
			for j, n := range s.refused {
				if n > 0 {
					if p.Refused == nil {
						p.Refused = map[string]int64{}
					}
					p.Refused[refusal.Kinds[j]] = int64(n)
				}
			}
			out[i] = p
		}
		return out
	}
	return History{Outputs: outputs, Hour: conv(hour), Day: conv(day)}
}
