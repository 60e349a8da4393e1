package sdk

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// counting is a producer that counts its own collects and closes.
type counting struct {
	name    string
	collect int64
	closed  *atomic.Int32
}

func (c *counting) Describe(context.Context) (Info, error) {
	return Info{Name: c.name, Version: "1"}, nil
}
func (c *counting) Configure(context.Context, Config) error { return nil }
func (c *counting) Collect(context.Context) (Stats, error) {
	c.collect++
	st := NewStats()
	st.Counters[c.name+".collects"] = c.collect
	return st, nil
}
func (c *counting) Close(context.Context) error { c.closed.Add(1); return nil }

// sharedConn serves the producers a and b from one in-process gRPC server
// as a shared process does, and returns the daemon's client.
func sharedConn(t *testing.T) (*plugin.GRPCClient, *mux[Producer], *atomic.Int32) {
	t.Helper()
	closed := &atomic.Int32{}
	news := map[string]func(hclog.Logger) Producer{
		"a": func(hclog.Logger) Producer { return &counting{name: "a", closed: closed} },
		"b": func(hclog.Logger) Producer { return &counting{name: "b", closed: closed} },
	}
	m := newMux(KindProducer, news, hclog.NewNullLogger())
	set := sharedPluginSets(KindProducer, []string{"a", "b"})[ProtocolVersion]
	set[KindProducer] = &ProducerPlugin{mux: m} // the server's side
	client, _ := plugin.TestPluginGRPCConn(t, false, set)
	t.Cleanup(func() { client.Close() })
	return client, m, closed
}

func dispenseProducer(t *testing.T, c *plugin.GRPCClient, key string) Producer {
	t.Helper()
	raw, err := c.Dispense(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(Producer)
}

// Each dispense is an instance of its own, of the plugin its key names;
// Close drops it from the process.
func TestSharedInstances(t *testing.T) {
	c, m, closed := sharedConn(t)
	ctx := context.Background()
	a1 := dispenseProducer(t, c, sharedKey(KindProducer, "a"))
	a2 := dispenseProducer(t, c, sharedKey(KindProducer, "a"))
	b := dispenseProducer(t, c, sharedKey(KindProducer, "b"))
	for range 3 {
		if _, err := a1.Collect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		p    Producer
		stat string
		want int64
	}{
		{"first instance of a", a1, "a.collects", 4},
		{"second instance of a", a2, "a.collects", 1},
		{"b", b, "b.collects", 1},
	}
	for _, tt := range tests {
		st, err := tt.p.Collect(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := st.Counters[tt.stat]; got != tt.want {
			t.Errorf("%s: %s = %d, want %d (%v)", tt.name, tt.stat, got, tt.want, st)
		}
	}
	if err := a1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	n := len(m.insts)
	m.mu.Unlock()
	if closed.Load() != 1 || n != 2 {
		t.Errorf("after one Close: %d closed, %d instances left; want 1 and 2", closed.Load(), n)
	}
}

// A call that names no plugin, or one the process does not serve, is
// refused with a message that says what it serves.
func TestSharedRefusals(t *testing.T) {
	c, _, _ := sharedConn(t)
	ctx := context.Background()
	unnamed, err := c.Dispense(KindProducer) // a daemon that does not know about sharing
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unnamed.(Producer).Collect(ctx); err == nil || !strings.Contains(err.Error(), "serves several producers (a, b)") {
		t.Errorf("a call naming no plugin: %v", err)
	}
	other := &ProducerPlugin{shared: &sharedClient{name: "zzz"}}
	raw, err := other.GRPCClient(ctx, nil, c.Conn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.(Producer).Describe(ctx); err == nil || !strings.Contains(err.Error(), `no producer named "zzz"; it serves a, b`) {
		t.Errorf("a call naming an unknown plugin: %v", err)
	}
}
