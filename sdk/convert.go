package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/statsherd/statsherd/sdk/proto"
)

// StatsToProto converts Stats to their wire form.
func StatsToProto(s Stats) *proto.Stats {
	p := &proto.Stats{}
	if len(s.Counters) > 0 {
		p.Counters = make(map[string]int64, len(s.Counters))
		for k, v := range s.Counters {
			p.Counters[k] = v
		}
	}
	if len(s.Stats) > 0 {
		p.Stats = make(map[string]*proto.Value, len(s.Stats))
		// One allocation for all values and one for all oneof wrappers
		// of each kind, instead of two per stat.
		vals := make([]proto.Value, len(s.Stats))
		ints := make([]proto.Value_Int, 0, len(s.Stats))
		floats := make([]proto.Value_Float, 0)
		null := &proto.Value_Null{Null: true}
		i := 0
		for k, v := range s.Stats {
			pv := &vals[i]
			i++
			switch v.kind {
			case kindInt:
				ints = append(ints, proto.Value_Int{Int: v.i})
				pv.Kind = &ints[len(ints)-1]
			case kindFloat:
				if floats == nil || cap(floats) == len(floats) {
					floats = make([]proto.Value_Float, 0, len(s.Stats))
				}
				floats = append(floats, proto.Value_Float{Float: v.f})
				pv.Kind = &floats[len(floats)-1]
			default:
				pv.Kind = null
			}
			p.Stats[k] = pv
		}
	}
	return p
}

// StatsFromProto converts wire Stats back, checking every name. A bad name
// or value is dropped and reported in the error; the rest is kept.
func StatsFromProto(p *proto.Stats) (Stats, error) {
	s := Stats{
		Counters: make(map[string]int64, len(p.GetCounters())),
		Stats:    make(map[string]Value, len(p.GetStats())),
	}
	var bad []string
	for k, v := range p.GetCounters() {
		if err := ValidName(k); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		s.Counters[k] = v
	}
	for k, v := range p.GetStats() {
		if err := ValidName(k); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		switch x := v.GetKind().(type) {
		case *proto.Value_Int:
			s.Stats[k] = Int(x.Int)
		case *proto.Value_Float:
			s.Stats[k] = Float(x.Float)
		default:
			s.Stats[k] = Null
		}
	}
	if len(bad) > 0 {
		if len(bad) > 3 {
			bad = append(bad[:3], fmt.Sprintf("and %d more", len(bad)-3))
		}
		return s, fmt.Errorf("dropped invalid names: %v", bad)
	}
	return s, nil
}

func infoToProto(in Info) (*proto.Info, error) {
	p := &proto.Info{Name: in.Name, Version: in.Version, Description: in.Description, Config: &proto.ConfigSchema{}}
	for _, st := range in.Stats {
		p.Stats = append(p.Stats, &proto.StatInfo{Name: st.Name, Kind: string(st.Kind), Unit: st.Unit, Description: st.Description})
	}
	for _, a := range in.Config {
		pa := &proto.Attribute{Name: a.Name, Type: string(a.Type), Required: a.Required, Description: a.Description}
		if a.Default != nil {
			b, err := json.Marshal(a.Default)
			if err != nil {
				return nil, fmt.Errorf("attribute %q: default: %w", a.Name, err)
			}
			pa.DefaultJson = b
		}
		p.Config.Attributes = append(p.Config.Attributes, pa)
	}
	return p, nil
}

func infoFromProto(p *proto.Info) (Info, error) {
	in := Info{Name: p.GetName(), Version: p.GetVersion(), Description: p.GetDescription()}
	for _, st := range p.GetStats() {
		in.Stats = append(in.Stats, StatInfo{Name: st.GetName(), Kind: Kind(st.GetKind()), Unit: st.GetUnit(), Description: st.GetDescription()})
	}
	for _, a := range p.GetConfig().GetAttributes() {
		at := Attribute{Name: a.GetName(), Type: AttrType(a.GetType()), Required: a.GetRequired(), Description: a.GetDescription()}
		if !at.Type.Valid() {
			return in, fmt.Errorf("plugin declares attribute %q of unknown type %q", at.Name, at.Type)
		}
		if len(a.GetDefaultJson()) > 0 {
			var d any
			if err := json.Unmarshal(a.GetDefaultJson(), &d); err != nil {
				return in, fmt.Errorf("plugin declares attribute %q with a bad default: %w", at.Name, err)
			}
			if at.Type == Duration {
				if n, ok := d.(float64); ok {
					d = time.Duration(n)
				}
			}
			at.Default = d
		}
		in.Config = append(in.Config, at)
	}
	return in, nil
}

func roundToProto(r Round) *proto.WriteRequest {
	p := &proto.WriteRequest{RoundUnixNano: r.Time.UnixNano(), Nodes: make([]*proto.NodeSample, len(r.Nodes))}
	for i, n := range r.Nodes {
		p.Nodes[i] = &proto.NodeSample{Id: n.ID, Nickname: n.Nickname, TimestampUnixNano: n.Timestamp.UnixNano(), Stats: StatsToProto(n.Stats)}
	}
	return p
}

func roundFromProto(p *proto.WriteRequest) (Round, error) {
	r := Round{Time: time.Unix(0, p.GetRoundUnixNano()), Nodes: make([]NodeSample, 0, len(p.GetNodes()))}
	var firstErr error
	for _, n := range p.GetNodes() {
		s, err := StatsFromProto(n.GetStats())
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("node %s: %w", n.GetId(), err)
		}
		r.Nodes = append(r.Nodes, NodeSample{ID: n.GetId(), Nickname: n.GetNickname(), Timestamp: time.Unix(0, n.GetTimestampUnixNano()), Stats: s})
	}
	return r, firstErr
}
