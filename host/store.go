package host

import (
	"math"
	"sync"

	"github.com/statsherd/statsherd/sdk"
)

// store holds what node software reports over statsd: counters (int64,
// monotonic since the host started) and gauges. It outlives reloads.
type store struct {
	maxNames int

	mu       sync.Mutex
	counters map[string]*int64
	gauges   map[string]*gauge
}

type gauge struct {
	v sdk.Value
}

func newStore(maxNames int) *store {
	return &store{maxNames: maxNames, counters: map[string]*int64{}, gauges: map[string]*gauge{}}
}

// apply records one parsed line; the caller holds s.mu. It returns
// dropTooManyName when a new name would pass the limit.
func (s *store) apply(m *metric) dropReason {
	switch m.kind {
	case kindCounter:
		if p, ok := s.counters[string(m.name)]; ok {
			*p = addSat(*p, m.delta)
			return dropNone
		}
		if len(s.counters)+len(s.gauges) >= s.maxNames {
			return dropTooManyName
		}
		v := m.delta
		s.counters[string(m.name)] = &v
	case kindGauge:
		g, ok := s.gauges[string(m.name)]
		if !ok {
			if len(s.counters)+len(s.gauges) >= s.maxNames {
				return dropTooManyName
			}
			g = &gauge{v: sdk.Int(0)}
			s.gauges[string(m.name)] = g
		}
		g.v = gaugeValue(g.v, m)
	}
	return dropNone
}

// gaugeValue is a gauge's new value after line m.
func gaugeValue(old sdk.Value, m *metric) sdk.Value {
	if !m.relative {
		if m.isInt {
			return sdk.Int(m.ival)
		}
		return sdk.Float(m.value)
	}
	if oi, ok := old.Int64(); ok && m.isInt {
		if r := oi + m.ival; (m.ival >= 0) == (r >= oi) {
			return sdk.Int(r)
		}
	}
	of, _ := old.Float64()
	return sdk.Float(of + m.value)
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// addTo copies the counters and gauges into st.
func (s *store) addTo(st sdk.Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.counters {
		st.Counters[k] = *v
	}
	for k, g := range s.gauges {
		st.Stats[k] = g.v
	}
}

// names is the number of distinct names held.
func (s *store) names() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counters) + len(s.gauges)
}
