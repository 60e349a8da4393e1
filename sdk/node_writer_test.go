package sdk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

// collector is a NodeWriter keeping copies of the nodes it is handed.
type collector struct {
	calls int
	time  time.Time
	len   int
	nodes []NodeSample
	seen  map[*NodeSample]bool // the NodeSamples handed out
	stop  int                  // if > 0, break out after this many nodes
	keep  *RoundNodes
	// lists: read the nodes with Lists, their stats put into maps, the
	// last value of a name winning (and the node's own maps empty)
	lists bool
}

func (c *collector) WriteNodes(_ context.Context, r *RoundNodes) error {
	c.calls++
	c.time, c.len, c.nodes, c.keep = r.Time, r.Len(), nil, r
	if c.seen == nil {
		c.seen = map[*NodeSample]bool{}
	}
	if c.lists {
		for n, l := range r.Lists() {
			c.seen[n] = true
			st := NewStats()
			for i, k := range l.CounterNames {
				st.Counters[k] = l.Counters[i]
			}
			for i, k := range l.StatNames {
				st.Stats[k] = l.Stats[i]
			}
			if len(n.Stats.Counters)+len(n.Stats.Stats) > 0 {
				return fmt.Errorf("node %s: Stats maps not empty beside its lists", n.ID)
			}
			c.nodes = append(c.nodes, NodeSample{ID: n.ID, Nickname: n.Nickname, Timestamp: n.Timestamp, Stats: st})
			if c.stop > 0 && len(c.nodes) == c.stop {
				break
			}
		}
		return nil
	}
	for n := range r.All() {
		c.seen[n] = true
		c.nodes = append(c.nodes, NodeSample{ID: n.ID, Nickname: n.Nickname, Timestamp: n.Timestamp,
			Stats: Stats{Counters: maps.Clone(n.Stats.Counters), Stats: maps.Clone(n.Stats.Stats)}})
		if c.stop > 0 && len(c.nodes) == c.stop {
			break
		}
	}
	return nil
}

// checkSameStream: the nodes writeNodes hands out, and its error, are
// those of the generic decoding of b; a round it refuses is not handed out
// at all.
func checkSameStream(t *testing.T, d *roundDecoder, b []byte, what string) {
	t.Helper()
	for _, in := range splits(b) {
		checkSameStreamIn(t, d, b, in, fmt.Sprintf("%s, in %d pieces", what, len(in)))
	}
}

// checkSameStreamIn is checkSameStream for b received in pieces, the
// nodes read with All and with Lists.
func checkSameStreamIn(t *testing.T, d *roundDecoder, b []byte, in codec.Raw, what string) {
	t.Helper()
	checkSameStreamRead(t, d, b, in, what, false)
	checkSameStreamRead(t, d, b, in, what+", read as lists", true)
}

func checkSameStreamRead(t *testing.T, d *roundDecoder, b []byte, in codec.Raw, what string, lists bool) {
	t.Helper()
	var w proto.WriteRequest
	if err := gproto.Unmarshal(b, &w); err != nil {
		c := collector{lists: lists}
		if d.writeNodes(context.Background(), in, &c) == nil && c.calls > 0 {
			// The generic decoding refuses some bytes the decoder
			// takes (it checks more); then both decoders of the sdk
			// must agree.
			want, werr := d.decode(codec.Raw{b})
			if werr != nil || !sameNodes(c, want) {
				t.Fatalf("%s: streamed %+v; decode gives %+v, %v", what, c.nodes, want, werr)
			}
		}
		return
	}
	want, werr := roundFromProto(&w)
	c := collector{lists: lists}
	gerr := d.writeNodes(context.Background(), in, &c)
	if fmt.Sprint(werr) != fmt.Sprint(gerr) {
		t.Fatalf("%s: error %v, want %v", what, gerr, werr)
	}
	if werr != nil {
		if c.calls != 0 {
			t.Fatalf("%s: a refused round was handed out (%d nodes)", what, len(c.nodes))
		}
		return
	}
	if c.calls != 1 || !sameNodes(c, want) {
		t.Fatalf("%s: streamed (%d calls) %v, %d nodes: %#v\nwant %v, %#v", what, c.calls, c.time, c.len, c.nodes, want.Time, want.Nodes)
	}
	if len(c.seen) > 1 {
		t.Errorf("%s: %d NodeSamples handed out, want one reused", what, len(c.seen))
	}
	n := 0
	for range c.keep.All() {
		n++
	}
	for range c.keep.Lists() {
		n++
	}
	if n != 0 {
		t.Errorf("%s: %d nodes yielded after WriteNodes returned", what, n)
	}
}

func sameNodes(c collector, r Round) bool {
	if !c.time.Equal(r.Time) || c.len != len(r.Nodes) || len(c.nodes) != len(r.Nodes) {
		return false
	}
	return len(r.Nodes) == 0 || reflect.DeepEqual(c.nodes, r.Nodes)
}

// TestWriteNodesMatchesRound: a NodeWriter is handed, node by node, the
// nodes Write would get in a Round, with the same errors, across rounds
// (names interned), malformed and refused rounds included.
func TestWriteNodesMatchesRound(t *testing.T) {
	var d roundDecoder
	eachTestRound(t, func(r Round, b []byte, what string) {
		checkSameStream(t, &d, b, what)
		checkSameStream(t, &d, encodeRound(r).Materialize(), what+" encoded from maps")
	})
	w := &proto.WriteRequest{Nodes: []*proto.NodeSample{
		{Id: "first", Stats: &proto.Stats{CounterNames: []string{"a.b"}, CounterValues: []int64{1}}},
		{Id: "second", Stats: &proto.Stats{CounterNames: []string{"a.b", "a.c"}, CounterValues: []int64{1}}}}}
	b, _ := gproto.Marshal(w)
	checkSameStream(t, &d, b, "mismatched lists in the second node")
	var c collector
	if err := d.writeNodes(context.Background(), codec.Raw{b[:len(b)-1]}, &c); err == nil || c.calls != 0 {
		t.Errorf("truncated round: error %v, %d calls; want an error and no call", err, c.calls)
	}
	// The round's time given after the nodes is the round's time all
	// the same.
	late := append(encodeRound(Round{Nodes: testRounds()[1].Nodes}).Materialize(), 0x08, 0x2a)
	checkSameStream(t, &d, late, "time after the nodes")
}

// TestWriteNodesBreak: an output may stop reading a round, and read it
// again.
func TestWriteNodesBreak(t *testing.T) {
	var d roundDecoder
	r := testRounds()[2]
	c := collector{stop: 3}
	if err := d.writeNodes(context.Background(), codec.Raw{encodeRound(r).Materialize()}, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.nodes) != 3 || c.len != len(r.Nodes) || !reflect.DeepEqual(c.nodes, r.Nodes[:3]) {
		t.Errorf("stopped after %d nodes of %d: %v", len(c.nodes), c.len, c.nodes)
	}
	twice := nodeWriterFunc(func(_ context.Context, rn *RoundNodes) error {
		for range 2 {
			n := 0
			for range rn.All() {
				n++
			}
			if n != len(r.Nodes) {
				return fmt.Errorf("%d nodes, want %d", n, len(r.Nodes))
			}
		}
		return nil
	})
	if err := d.writeNodes(context.Background(), codec.Raw{encodeRound(r).Materialize()}, twice); err != nil {
		t.Error(err)
	}
}

type nodeWriterFunc func(context.Context, *RoundNodes) error

func (f nodeWriterFunc) WriteNodes(ctx context.Context, r *RoundNodes) error { return f(ctx, r) }

// TestNodesOf: a Round handed out node by node is its own nodes.
func TestNodesOf(t *testing.T) {
	for i, r := range testRounds() {
		var c collector
		if err := c.WriteNodes(context.Background(), NodesOf(r)); err != nil {
			t.Fatal(err)
		}
		if !sameNodes(c, r) {
			t.Errorf("round %d: %#v", i, c.nodes)
		}
		c = collector{lists: true}
		if err := c.WriteNodes(context.Background(), NodesOf(r)); err != nil {
			t.Fatal(err)
		}
		if !sameNodes(c, r) {
			t.Errorf("round %d, read as lists: %#v", i, c.nodes)
		}
	}
}

// BenchmarkRoundDecode: a round of 1,000 nodes × 100 stats decoded whole
// (decode, for Write) and node by node (writeNodes, for a NodeWriter
// that reads every node, into maps or as lists), and the check that
// precedes the latter.
func BenchmarkRoundDecode(b *testing.B) {
	r := Round{Time: time.Unix(1700000000, 0)}
	for i := range 1000 {
		st := NewStats()
		for j := range 50 {
			st.Counters[fmt.Sprintf("bench.counter_%02d", j)] = int64(i * j)
			st.Stats[fmt.Sprintf("bench.gauge_%02d", j)] = Float(float64(i) / float64(j+1))
		}
		r.Nodes = append(r.Nodes, NodeSample{ID: fmt.Sprintf("node%05d", i), Nickname: "n", Timestamp: r.Time, Stats: st})
	}
	enc := encodeRound(r).Materialize()
	var d roundDecoder
	b.Run("round", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.decode(codec.Raw{enc}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nodes", func(b *testing.B) {
		b.ReportAllocs()
		read := nodeWriterFunc(func(_ context.Context, r *RoundNodes) error {
			for range r.All() {
			}
			return nil
		})
		for b.Loop() {
			if err := d.writeNodes(context.Background(), codec.Raw{enc}, read); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lists", func(b *testing.B) {
		b.ReportAllocs()
		read := nodeWriterFunc(func(_ context.Context, r *RoundNodes) error {
			for range r.Lists() {
			}
			return nil
		})
		for b.Loop() {
			if err := d.writeNodes(context.Background(), codec.Raw{enc}, read); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := d.check(codec.Raw{enc}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// plainOutput is an Output (no NodeWriter) keeping its rounds, or failing.
type plainOutput struct {
	rounds []Round
	fail   error
}

func (o *plainOutput) Describe(context.Context) (Info, error)  { return Info{Name: "plain"}, nil }
func (o *plainOutput) Configure(context.Context, Config) error { return nil }
func (o *plainOutput) Write(_ context.Context, r Round) error {
	o.rounds = append(o.rounds, r)
	return o.fail
}
func (o *plainOutput) Close(context.Context) error { return nil }

type streamingOutput struct {
	plainOutput
	collector
}

// TestReceivedBuffers: over gRPC, with the plugin's server options, a
// round of many buffers is decoded where gRPC received it, for a
// NodeWriter and for a plain output alike (TestWriteFreesReceived: and
// its buffers are freed).
func TestReceivedBuffers(t *testing.T) {
	ctx := context.Background()
	r := testRounds()[2] // ≈ 40 KB: several HTTP/2 frames
	streaming, plain, failing := &streamingOutput{}, &plainOutput{}, &plainOutput{fail: errors.New("full")}
	for _, impl := range []Output{streaming, plain, failing} {
		o := grpcOutput(t, impl)
		for range 2 {
			err := o.Write(ctx, r)
			if (err != nil) != (impl == failing) {
				t.Errorf("%T: %v", impl, err)
			}
		}
	}
	if streaming.calls != 2 || len(streaming.plainOutput.rounds) != 0 || !sameNodes(streaming.collector, r) {
		t.Errorf("streamed %d rounds, %d through Write; last %v", streaming.calls, len(streaming.plainOutput.rounds), streaming.nodes)
	}
	if len(plain.rounds) != 2 || !reflect.DeepEqual(plain.rounds[1].Nodes, r.Nodes) {
		t.Errorf("plain output: %d rounds", len(plain.rounds))
	}
}

// countingPool is a mem.BufferPool counting the buffers given back.
type countingPool struct{ puts int }

func (p *countingPool) Get(n int) *[]byte { b := make([]byte, n); return &b }
func (p *countingPool) Put(*[]byte)       { p.puts++ }

// TestWriteFreesReceived: the buffers codec.ServerCodec keeps in a Write's request
// are freed once the Write is answered, whether it failed or not, after
// the round was decoded from them.
func TestWriteFreesReceived(t *testing.T) {
	r := testRounds()[2] // ≈ 40 KB
	enc := encodeRound(r).Materialize()
	plain, failing := &plainOutput{}, &plainOutput{fail: errors.New("full")}
	for _, impl := range []Output{&streamingOutput{}, plain, failing} {
		pool := &countingPool{}
		var data mem.BufferSlice
		for p := enc; len(p) > 0; {
			b := pool.Get(min(len(p), 4096))
			p = p[copy(*b, p):]
			data = append(data, mem.NewBuffer(b, pool))
		}
		w := &codec.ReceivedWrite{WriteRequest: new(proto.WriteRequest)}
		if err := (codec.ServerCodec{}).Unmarshal(data, w); err != nil {
			t.Fatal(err)
		}
		data.Free() // as gRPC does once Unmarshal returns
		if pool.puts != 0 {
			t.Fatalf("%T: %d buffers freed before the handler ran", impl, pool.puts)
		}
		_, err := (&outputServer{impl: impl}).writeReceived(ctx0, w)
		if (err != nil) != (impl == failing) {
			t.Errorf("%T: %v", impl, err)
		}
		if pool.puts != len(data) {
			t.Errorf("%T: %d of %d received buffers freed", impl, pool.puts, len(data))
		}
	}
	if len(plain.rounds) != 1 || !reflect.DeepEqual(plain.rounds[0].Nodes, r.Nodes) {
		t.Errorf("plain output: %d rounds", len(plain.rounds))
	}
}

// grpcOutput serves impl as a plugin process does and returns the
// daemon's client of it.
func grpcOutput(t *testing.T, impl Output) Output {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "o.sock"))
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(GRPCServerOptions()...)
	if err := (&OutputPlugin{Impl: impl}).GRPCServer(nil, s); err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("unix://"+ln.Addr().String(), append(grpcDialOptions(), grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	o, err := (&OutputPlugin{}).GRPCClient(ctx0, nil, conn)
	if err != nil {
		t.Fatal(err)
	}
	return o.(Output)
}

var ctx0 = context.Background()

// TestWriteOtherCodec: a Write's request received with gRPC's own proto
// codec (a server without GRPCServerOptions) is decoded as the
// WriteRequest it is, and the round reaches the output the same.
func TestWriteOtherCodec(t *testing.T) {
	r := testRounds()[2]
	w := &codec.ReceivedWrite{WriteRequest: new(proto.WriteRequest)}
	if err := encoding.GetCodecV2("proto").Unmarshal(encodeRound(r), w); err != nil {
		t.Fatal(err)
	}
	if w.Kept || len(w.Nodes) != len(r.Nodes) {
		t.Fatalf("kept %v, %d nodes decoded, want %d", w.Kept, len(w.Nodes), len(r.Nodes))
	}
	plain := &plainOutput{}
	if _, err := (&outputServer{impl: plain}).writeReceived(ctx0, w); err != nil {
		t.Fatal(err)
	}
	if len(plain.rounds) != 1 || !reflect.DeepEqual(plain.rounds[0].Nodes, r.Nodes) {
		t.Errorf("plain output: %d rounds", len(plain.rounds))
	}
}
