package sdk

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
)

type labelled struct{ st Stats }

func (p *labelled) Describe(context.Context) (Info, error)  { return Info{Name: "labelled"}, nil }
func (p *labelled) Configure(context.Context, Config) error { return nil }
func (p *labelled) Collect(context.Context) (Stats, error)  { return p.st, nil }
func (p *labelled) Close(context.Context) error             { return nil }

type lastRound struct{ r Round }

func (o *lastRound) Describe(context.Context) (Info, error)  { return Info{Name: "last"}, nil }
func (o *lastRound) Configure(context.Context, Config) error { return nil }
func (o *lastRound) Write(_ context.Context, r Round) error  { o.r = r; return nil }
func (o *lastRound) Close(context.Context) error             { return nil }

func labelledStats() Stats {
	return Stats{
		Counters: map[string]int64{
			MustSeries("http.requests", L("status", "500"), L("route", "/login")): 3,
			"plain.counter": 1,
		},
		Stats: map[string]Value{MustSeries("disk.free", L("device", "sda1")): Int(7), MustSeries("x", L("env", "")): Null},
	}
}

// foldedStats is labelledStats as a peer before labels sees them: named
// as tagged statsd lines always were.
func foldedStats() Stats {
	return Stats{
		Counters: map[string]int64{"http.requests.route__login.status_500": 3, "plain.counter": 1},
		Stats:    map[string]Value{"disk.free.device_sda1": Int(7), "x.env": Null},
	}
}

// TestProtocolVersions: over plugin protocol 2 series keep their labels;
// a producer serving a daemon of protocol 1, or a daemon writing to an
// output of protocol 1, folds them into flat names.
func TestProtocolVersions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version int
		want    Stats
	}{{ProtocolVersion, labelledStats()}, {protocolFlat, foldedStats()}} {
		ctx := context.Background()
		client, _ := plugin.TestPluginGRPCConn(t, false, pluginSets(&labelled{labelledStats()}, nil)[tc.version])
		raw, err := client.Dispense(KindProducer)
		if err != nil {
			t.Fatal(err)
		}
		got, err := raw.(Producer).Collect(ctx)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("protocol %d: Collect = %v, %v; want %v", tc.version, got, err, tc.want)
		}
		client.Close()

		out := &lastRound{}
		client, _ = plugin.TestPluginGRPCConn(t, false, pluginSets(nil, out)[tc.version])
		raw, err = client.Dispense(KindOutput)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Unix(1700000000, 0)
		r := Round{Time: at, Nodes: []NodeSample{{ID: "a", Timestamp: at, Stats: labelledStats()}}}
		if err := raw.(Output).Write(ctx, r); err != nil {
			t.Fatal(err)
		}
		if len(out.r.Nodes) != 1 || !reflect.DeepEqual(out.r.Nodes[0].Stats, tc.want) {
			t.Errorf("protocol %d: output got %+v, want %v", tc.version, out.r.Nodes, tc.want)
		}
		client.Close()
	}
}
