package munin

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/munin/snapshot"
	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/plugintest"
)

// reference is the munin output as it was before the compact model: every
// node kept as a snapshot.Node of maps, the file written by
// snapshot.Marshal. The output must write the same bytes.
type reference struct {
	nodes       snapshot.Snapshot
	forgetAfter time.Duration
}

func (r *reference) write(round sdk.Round) []byte {
	for _, s := range round.Nodes {
		ts := s.Timestamp
		if ts.IsZero() || ts.Unix() <= 0 {
			ts = round.Time
		}
		n := &snapshot.Node{Nickname: s.Nickname, Timestamp: snapshot.Unix(ts),
			Counters: map[string]snapshot.Value{}, Stats: map[string]snapshot.Value{}}
		for k, v := range s.Stats.Counters {
			n.Counters[k] = snapshot.Int(v)
		}
		for k, v := range s.Stats.Stats {
			n.Stats[k] = v
		}
		r.nodes[s.ID] = n
	}
	if r.forgetAfter > 0 {
		cutoff := snapshot.Unix(round.Time) - r.forgetAfter.Seconds()
		for id, n := range r.nodes {
			if n.Timestamp < cutoff {
				delete(r.nodes, id)
			}
		}
	}
	return snapshot.Marshal(r.nodes)
}

// randomFleet makes rounds of a fleet whose nodes share most names, some
// nodes having extra or fewer, names and nodes coming and going, values
// of every kind, nicknames needing escapes, some samples without a time.
type randomFleet struct {
	rng   *rand.Rand
	names []string
	nodes int
}

func (f *randomFleet) value() sdk.Value {
	switch f.rng.IntN(6) {
	case 0:
		return sdk.Null
	case 1:
		return sdk.Float(math.NaN())
	case 2:
		return sdk.Int(f.rng.Int64() - math.MaxInt64/2)
	case 3:
		return sdk.Float(math.Float64frombits(f.rng.Uint64()))
	case 4:
		return sdk.Float(float64(f.rng.IntN(1000)))
	}
	return sdk.Float(f.rng.NormFloat64() * 1e6)
}

func (f *randomFleet) round(now time.Time) sdk.Round {
	r := sdk.Round{Time: now}
	// Names come and go: now and then one is replaced.
	if f.rng.IntN(3) == 0 {
		f.names[f.rng.IntN(len(f.names))] = fmt.Sprintf("new.name_%d", f.rng.Int())
	}
	for i := range f.nodes {
		if f.rng.IntN(4) == 0 {
			continue // did not answer
		}
		s := sdk.NewStats()
		// Nodes of a kind share names; some have a few more or less.
		for j, name := range f.names {
			if (i+j)%7 == 0 && i%3 == 0 {
				continue
			}
			if j%2 == 0 {
				s.Counters[name] = f.rng.Int64()
			} else {
				s.Stats[name] = f.value()
			}
		}
		if f.rng.IntN(5) == 0 {
			s.Stats[fmt.Sprintf("node_%d.extra_%d", i, f.rng.IntN(3))] = f.value()
			s.Counters[f.names[0]+".x"] = 1
		}
		ts := now.Add(-time.Duration(f.rng.IntN(5000)) * time.Millisecond)
		if f.rng.IntN(10) == 0 {
			ts = time.Time{}
		}
		nick := fmt.Sprintf("storage-%d", i)
		if i%5 == 0 {
			nick = fmt.Sprintf("über \"%d\"\t\x01", i)
		}
		r.Nodes = append(r.Nodes, sdk.NodeSample{ID: fmt.Sprintf("node%04d", i), Nickname: nick, Timestamp: ts, Stats: s})
	}
	return r
}

// TestModelSameBytes writes rounds of a random fleet with the output and
// with the reference, and compares the files byte for byte; then loads
// the file into a new output, which writes it back unchanged. Seeds 4–7
// hand the output its rounds over gRPC as a gatherer does, decoded from
// the received bytes into sdk.NodeLists (the nodes' stats in the order
// sent, integers before floats before nulls, so the order changes from
// node to node with the kinds of their values), not sorted from maps.
func TestModelSameBytes(t *testing.T) {
	t.Parallel()
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "stats.json")
			forget := time.Duration(0)
			if seed%2 == 1 {
				forget = 90 * time.Second
			}
			o := New(hclog.NewNullLogger()).(*output)
			ctx := context.Background()
			cfg := map[string]any{"path": path, "forget_after": int64(forget)}
			if err := o.Configure(ctx, config(t, cfg)); err != nil {
				t.Fatal(err)
			}
			if seed%4 >= 2 {
				o.fleet.slack = 0 // sweep every round
			}
			var w sdk.Output = o
			if seed >= 4 {
				w = plugintest.Output(t, o)
			}
			ref := &reference{nodes: snapshot.Snapshot{}, forgetAfter: forget}
			rng := rand.New(rand.NewPCG(seed, 1))
			f := &randomFleet{rng: rng, nodes: 60}
			for i := range 40 {
				f.names = append(f.names, fmt.Sprintf("storage_server.stat_%02d", i))
			}
			now := t0
			var want []byte
			for i := range 60 {
				// Some nodes stop answering for a while, so that
				// forget_after drops them.
				f.nodes = 60 - 40*((i/20)%2)
				r := f.round(now)
				want = ref.write(r)
				if err := w.Write(ctx, r); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("round %d: the file differs from the reference\n got: %.2000s\nwant: %.2000s", i, got, want)
				}
				now = now.Add(20 * time.Second)
			}
			// Loaded at start, the same file comes back.
			o2 := New(hclog.NewNullLogger())
			if err := o2.Configure(ctx, config(t, map[string]any{"path": path})); err != nil {
				t.Fatal(err)
			}
			if err := o2.Write(ctx, sdk.Round{Time: now}); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
				t.Errorf("loaded and written back, the file differs\n got: %.2000s\nwant: %.2000s", got, want)
			}
			// Names that are gone are dropped from the model in time.
			if n, most := len(o.fleet.names), 2*(40+2+60*3)+64*o.fleet.slack; n > most {
				t.Errorf("the model keeps %d names, want at most %d", n, most)
			}
		})
	}
}

// TestModelLoadsTahoe: a snapshot with names needing escapes, float
// counters, and null, NaN and infinite values loads and writes back as
// snapshot.Marshal writes it.
func TestModelLoadsTahoe(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stats.json")
	old := `{"n1": {"timestamp": 1700000000.25, "nickname": "a\u00e9\"", "stats": {"counters": {"c\"q": 1.5, "b": 2, "\u00fcber": 3}, "stats": {"s": NaN, "t": Infinity, "u": null, "c\"q": 7}}}, "n0": {"stats": {}}}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Parse([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	o := New(hclog.NewNullLogger())
	ctx := context.Background()
	if err := o.Configure(ctx, config(t, map[string]any{"path": path})); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(ctx, sdk.Round{Time: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := snapshot.Marshal(snap); !bytes.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestSetListsAsMaps: a node's lists fold into the model as the same
// stats in maps do, for the cases the lists' fast path must turn down:
// a name sent twice (the last value wins, as in a map), a name of the
// shape missing and another in its place, a counter sent as a stat, and
// an address in the table that now holds another name.
func TestSetListsAsMaps(t *testing.T) {
	t.Parallel()
	base := func() *sdk.NodeLists {
		return &sdk.NodeLists{
			CounterNames: []string{"c.b", "c.a"}, Counters: []int64{2, 1},
			StatNames: []string{"s.y", "s.x", "c.a"}, Stats: []sdk.Value{sdk.Null, sdk.Float(1.5), sdk.Int(-3)},
		}
	}
	cases := map[string]func(l *sdk.NodeLists){
		"same":          func(*sdk.NodeLists) {},
		"reordered":     func(l *sdk.NodeLists) { l.StatNames[0], l.StatNames[1] = l.StatNames[1], l.StatNames[0] },
		"twice":         func(l *sdk.NodeLists) { l.CounterNames[0] = "c.a" },
		"stat twice":    func(l *sdk.NodeLists) { l.StatNames[2] = "s.x" },
		"other name":    func(l *sdk.NodeLists) { l.StatNames[0] = "s.z" },
		"counter moved": func(l *sdk.NodeLists) { l.CounterNames[1] = "s.x" },
	}
	for name, change := range cases {
		// Each value differs from the first round's, so that one
		// left from it shows.
		l := base()
		change(l)
		for i := range l.Counters {
			l.Counters[i] += 10
		}
		for i, v := range l.Stats {
			if x, ok := v.Float64(); ok {
				l.Stats[i] = sdk.Float(x + 10)
			}
		}
		st := sdk.NewStats()
		for i, k := range l.CounterNames {
			st.Counters[k] = l.Counters[i]
		}
		for i, k := range l.StatNames {
			st.Stats[k] = l.Stats[i]
		}
		byMaps, byLists := newFleet(), newFleet()
		var m, n node
		byMaps.setLists(&m, base())
		byLists.setLists(&n, base())
		byMaps.set(&m, st)
		byLists.setLists(&n, l)
		if got, want := byLists.appendEntry(nil, "id", &n), byMaps.appendEntry(nil, "id", &m); !bytes.Equal(got, want) {
			t.Errorf("%s: lists give\n%s\nmaps\n%s", name, got, want)
		}
	}

	// A stale address: the table says s.x's bytes are at s.y's address.
	f := newFleet()
	var n node
	l := base()
	f.setLists(&n, l)
	f.setLists(&n, l) // the addresses are in the table now
	ix, _ := f.lookup("s.x")
	for i := range f.ptrs {
		if f.ptrs[i].p == uintptr(unsafe.Pointer(unsafe.StringData(l.StatNames[0]))) {
			f.ptrs[i].idx = ix
		}
	}
	if k, ok := f.lookup(l.StatNames[0]); !ok || f.plain[k] != "s.y" {
		t.Errorf("looked up by a stale address, s.y is %d (%q)", k, f.plain[k])
	}
}
