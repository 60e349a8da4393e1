package sdk

import (
	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// StatsToProto converts Stats to their wire form.
func StatsToProto(s Stats) *proto.Stats {
	p := &proto.Stats{}
	if n := len(s.Counters); n > 0 {
		p.CounterNames = make([]string, 0, n)
		p.CounterValues = make([]int64, 0, n)
		for k, v := range s.Counters {
			p.CounterNames = append(p.CounterNames, k)
			p.CounterValues = append(p.CounterValues, v)
		}
	}
	for k, v := range s.Stats {
		if i, ok := v.Int64(); ok {
			p.IntNames = append(p.IntNames, k)
			p.IntValues = append(p.IntValues, i)
		} else if f, ok := v.Float64(); ok {
			p.FloatNames = append(p.FloatNames, k)
			p.FloatValues = append(p.FloatValues, f)
		} else {
			p.NullNames = append(p.NullNames, k)
		}
	}
	return p
}

// StatsFromProto converts wire Stats back, checking every name and that
// each list of names has as many values. A bad entry is dropped and
// reported in the error; the rest is kept.
func StatsFromProto(p *proto.Stats) (Stats, error) {
	s := Stats{
		Counters: make(map[string]int64, len(p.GetCounterNames())),
		Stats:    make(map[string]Value, len(p.GetIntNames())+len(p.GetFloatNames())+len(p.GetNullNames())),
	}
	var bad []string
	check := func(name string) bool {
		if err := ValidSeries(name); err != nil {
			bad = append(bad, err.Error())
			return false
		}
		return true
	}
	if len(p.GetCounterNames()) != len(p.GetCounterValues()) ||
		len(p.GetIntNames()) != len(p.GetIntValues()) ||
		len(p.GetFloatNames()) != len(p.GetFloatValues()) {
		return s, codec.MalformedStats(len(p.GetCounterNames()), len(p.GetCounterValues()), len(p.GetIntNames()), len(p.GetIntValues()),
			len(p.GetFloatNames()), len(p.GetFloatValues()))
	}
	for i, k := range p.GetCounterNames() {
		if check(k) {
			s.Counters[k] = p.CounterValues[i]
		}
	}
	for i, k := range p.GetIntNames() {
		if check(k) {
			s.Stats[k] = Int(p.IntValues[i])
		}
	}
	for i, k := range p.GetFloatNames() {
		if check(k) {
			s.Stats[k] = Float(p.FloatValues[i])
		}
	}
	for _, k := range p.GetNullNames() {
		if check(k) {
			s.Stats[k] = Null
		}
	}
	if len(bad) > 0 {
		return s, codec.DroppedNames(bad)
	}
	return s, nil
}
