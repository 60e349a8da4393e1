package codec

import (
	"github.com/statsherd/statsherd/sdk/proto"
	"github.com/statsherd/statsherd/sdk/stat"
)

// StatsToProto converts Stats to their wire form (package sdk and, for
// the daemons, package sdk/daemon hand it on).
func StatsToProto(s stat.Stats) *proto.Stats {
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
func StatsFromProto(p *proto.Stats) (stat.Stats, error) {
	s := stat.Stats{
		Counters: make(map[string]int64, len(p.GetCounterNames())),
		Stats:    make(map[string]stat.Value, len(p.GetIntNames())+len(p.GetFloatNames())+len(p.GetNullNames())),
	}
	var bad []string
	check := func(name string) bool {
		if err := stat.ValidSeries(name); err != nil {
			bad = append(bad, err.Error())
			return false
		}
		return true
	}
	if len(p.GetCounterNames()) != len(p.GetCounterValues()) ||
		len(p.GetIntNames()) != len(p.GetIntValues()) ||
		len(p.GetFloatNames()) != len(p.GetFloatValues()) {
		return s, MalformedStats(len(p.GetCounterNames()), len(p.GetCounterValues()), len(p.GetIntNames()), len(p.GetIntValues()),
			len(p.GetFloatNames()), len(p.GetFloatValues()))
	}
	for i, k := range p.GetCounterNames() {
		if check(k) {
			s.Counters[k] = p.CounterValues[i]
		}
	}
	for i, k := range p.GetIntNames() {
		if check(k) {
			s.Stats[k] = stat.Int(p.IntValues[i])
		}
	}
	for i, k := range p.GetFloatNames() {
		if check(k) {
			s.Stats[k] = stat.Float(p.FloatValues[i])
		}
	}
	for _, k := range p.GetNullNames() {
		if check(k) {
			s.Stats[k] = stat.Null
		}
	}
	if len(bad) > 0 {
		return s, DroppedNames(bad)
	}
	return s, nil
}
