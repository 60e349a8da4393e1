package plugintest_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

type fakeProducer struct {
	cfg struct {
		Prefix string        `json:"prefix"`
		Every  time.Duration `json:"every"`
	}
	partial bool
}

func (p *fakeProducer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "fake", Version: "2.0",
		Stats:  []sdk.StatInfo{{Name: "fake.n", Kind: sdk.Stat, Unit: "items"}},
		Config: sdk.Schema{{Name: "prefix", Type: sdk.String, Default: "fake"}, {Name: "every", Type: sdk.Duration, Default: 5 * time.Second}}}, nil
}
func (p *fakeProducer) Configure(_ context.Context, c sdk.Config) error { return c.Decode(&p.cfg) }
func (p *fakeProducer) Collect(context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	st.Stats[p.cfg.Prefix+".n"] = sdk.Int(int64(p.cfg.Every / time.Second))
	if p.partial {
		return st, errors.New("half broken")
	}
	return st, nil
}
func (p *fakeProducer) Close(context.Context) error { return nil }

type fakeOutput struct{ rounds []sdk.Round }

func (o *fakeOutput) Describe(context.Context) (sdk.Info, error)  { return sdk.Info{Name: "out"}, nil }
func (o *fakeOutput) Configure(context.Context, sdk.Config) error { return nil }
func (o *fakeOutput) Write(_ context.Context, r sdk.Round) error {
	o.rounds = append(o.rounds, r)
	return nil
}
func (o *fakeOutput) Close(context.Context) error { return nil }

func TestProducerOverGRPC(t *testing.T) {
	ctx := context.Background()
	impl := &fakeProducer{}
	p := plugintest.Producer(t, impl)
	info, err := p.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "2.0" || len(info.Config) != 2 || info.Config[1].Default != 5*time.Second {
		t.Errorf("info = %+v", info)
	}
	if err := p.Configure(ctx, sdk.Config(`{"prefix": "x", "every": 7000000000}`)); err != nil {
		t.Fatal(err)
	}
	st, err := p.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Stats["x.n"]; got != sdk.Int(7) {
		t.Errorf("x.n = %v, want 7", got)
	}
	impl.partial = true
	st, err = p.Collect(ctx)
	if err == nil || !strings.Contains(err.Error(), "half broken") || st.Stats["x.n"] != sdk.Int(7) {
		t.Errorf("partial collect = %v, %v; want the stats and the error", st, err)
	}
	if err := p.Configure(ctx, sdk.Config(`{"colour": "red"}`)); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("unknown config key: err = %v", err)
	}
}

func TestOutputOverGRPC(t *testing.T) {
	impl := &fakeOutput{}
	o := plugintest.Output(t, impl)
	now := time.Unix(1764000000, 500000000)
	r := sdk.Round{Time: now, Nodes: []sdk.NodeSample{{ID: "abcd", Nickname: "n1", Timestamp: now,
		Stats: sdk.Stats{Counters: map[string]int64{"c": 1}, Stats: map[string]sdk.Value{"s": sdk.Float(0.5)}}}}}
	if err := o.Write(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(context.Background(), sdk.Round{Nodes: []sdk.NodeSample{{ID: "zero"}}}); err != nil {
		t.Fatal(err)
	}
	if len(impl.rounds) != 2 || !impl.rounds[1].Time.IsZero() || !impl.rounds[1].Nodes[0].Timestamp.IsZero() {
		t.Errorf("zero times did not survive the trip: %+v", impl.rounds)
	}
	if len(impl.rounds) != 2 || !impl.rounds[0].Nodes[0].Timestamp.Equal(now) || impl.rounds[0].Nodes[0].Stats.Stats["s"] != sdk.Float(0.5) {
		t.Errorf("output got %+v", impl.rounds)
	}
}

// reportingOutput is an output that reports stats of its own.
type reportingOutput struct {
	fakeOutput
	writes int64
}

func (o *reportingOutput) Write(ctx context.Context, r sdk.Round) error {
	o.writes++
	return o.fakeOutput.Write(ctx, r)
}

func (o *reportingOutput) Stats() sdk.Stats {
	st := sdk.NewStats()
	st.Counters["writes"] = o.writes
	st.Stats["queue.depth"] = sdk.Float(1.5)
	st.Stats["bad name"] = sdk.Int(1) // dropped on the way
	return st
}

// TestOutputStatsOverGRPC: an sdk.StatsReporter's stats come back with
// each Write's answer; an output that reports none gives none.
func TestOutputStatsOverGRPC(t *testing.T) {
	out := plugintest.Output(t, &reportingOutput{})
	rep, ok := out.(sdk.StatsReporter)
	if !ok {
		t.Fatal("the gRPC client of an output is no StatsReporter")
	}
	if st := rep.Stats(); st.Len() != 0 {
		t.Errorf("stats before any write: %v", st)
	}
	for i := 0; i < 2; i++ {
		if err := out.Write(context.Background(), sdk.Round{Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	st := rep.Stats()
	if st.Counters["writes"] != 2 || st.Stats["queue.depth"] != sdk.Float(1.5) || st.Len() != 2 {
		t.Errorf("stats %v: want writes 2, queue.depth 1.5, the bad name dropped", st)
	}

	plain := plugintest.Output(t, &fakeOutput{})
	if err := plain.Write(context.Background(), sdk.Round{Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if st := plain.(sdk.StatsReporter).Stats(); st.Len() != 0 {
		t.Errorf("an output without stats reported %v", st)
	}
}

// nodeOutput is an output that takes its rounds node by node.
type nodeOutput struct {
	fakeOutput
	streamed [][]sdk.NodeSample
	handed   map[*sdk.NodeSample]bool
}

func (o *nodeOutput) WriteNodes(_ context.Context, r *sdk.RoundNodes) error {
	var nodes []sdk.NodeSample
	if o.handed == nil {
		o.handed = map[*sdk.NodeSample]bool{}
	}
	for n := range r.All() {
		o.handed[n] = true
		c := *n
		c.Stats = sdk.NewStats()
		for k, v := range n.Stats.Counters {
			c.Stats.Counters[k] = v
		}
		for k, v := range n.Stats.Stats {
			c.Stats.Stats[k] = v
		}
		nodes = append(nodes, c)
	}
	o.streamed = append(o.streamed, nodes)
	return nil
}

// TestNodeWriterOverGRPC: an output that is an sdk.NodeWriter gets each
// round's nodes through WriteNodes, not Write, and the same nodes as a
// plain output gets in its Round; a round with an invalid name reaches
// neither.
func TestNodeWriterOverGRPC(t *testing.T) {
	ctx := context.Background()
	plainImpl, nodeImpl := &fakeOutput{}, &nodeOutput{}
	plain, streamed := plugintest.Output(t, plainImpl), plugintest.Output(t, nodeImpl)
	now := time.Unix(1764000000, 0)
	rounds := []sdk.Round{
		{Time: now, Nodes: []sdk.NodeSample{
			{ID: "a", Nickname: "n1", Timestamp: now, Stats: sdk.Stats{Counters: map[string]int64{"c.x": 1}, Stats: map[string]sdk.Value{"s.y": sdk.Float(0.5), "s.z": sdk.Null}}},
			{ID: "b", Timestamp: now, Stats: sdk.Stats{Counters: map[string]int64{}, Stats: map[string]sdk.Value{"s.y": sdk.Int(3)}}}}},
		{Time: now.Add(time.Minute), Nodes: []sdk.NodeSample{{ID: "b", Stats: sdk.NewStats()}}},
	}
	for _, r := range rounds {
		for _, o := range []sdk.Output{plain, streamed} {
			if err := o.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(nodeImpl.rounds) != 0 || len(nodeImpl.streamed) != 2 || len(plainImpl.rounds) != 2 {
		t.Fatalf("%d rounds through Write, %d through WriteNodes; plain output %d", len(nodeImpl.rounds), len(nodeImpl.streamed), len(plainImpl.rounds))
	}
	for i := range rounds {
		if !reflect.DeepEqual(nodeImpl.streamed[i], plainImpl.rounds[i].Nodes) {
			t.Errorf("round %d: streamed %+v, plain output got %+v", i, nodeImpl.streamed[i], plainImpl.rounds[i].Nodes)
		}
	}
	if len(nodeImpl.handed) != 1 {
		t.Errorf("%d NodeSamples handed out: want one, reused, as the nodes are decoded from the request", len(nodeImpl.handed))
	}
	bad := sdk.Round{Time: now, Nodes: []sdk.NodeSample{{ID: "a", Stats: sdk.Stats{Counters: map[string]int64{"bad name": 1}, Stats: map[string]sdk.Value{}}}}}
	if err := streamed.Write(ctx, bad); err == nil || len(nodeImpl.streamed) != 2 {
		t.Errorf("round with an invalid name: error %v, %d rounds streamed; want an error and none", err, len(nodeImpl.streamed))
	}
}
