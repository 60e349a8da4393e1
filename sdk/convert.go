package sdk

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

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
	p := &proto.WriteRequest{RoundUnixNano: codec.UnixNano(r.Time), Nodes: make([]*proto.NodeSample, len(r.Nodes))}
	for i, n := range r.Nodes {
		p.Nodes[i] = &proto.NodeSample{Id: n.ID, Nickname: n.Nickname, TimestampUnixNano: codec.UnixNano(n.Timestamp), Stats: codec.StatsToProto(n.Stats)}
	}
	return p
}

func roundFromProto(p *proto.WriteRequest) (Round, error) {
	r := Round{Time: codec.FromUnixNano(p.GetRoundUnixNano()), Nodes: make([]NodeSample, 0, len(p.GetNodes()))}
	var firstErr error
	for _, n := range p.GetNodes() {
		s, err := codec.StatsFromProto(n.GetStats())
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("node %s: %w", n.GetId(), err)
		}
		r.Nodes = append(r.Nodes, NodeSample{ID: n.GetId(), Nickname: n.GetNickname(), Timestamp: codec.FromUnixNano(n.GetTimestampUnixNano()), Stats: s})
	}
	return r, firstErr
}
