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

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/munin/snapshot"
	"github.com/statsherd/statsherd/sdk"
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
// the file into a new output, which writes it back unchanged.
func TestModelSameBytes(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
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
			if seed >= 2 {
				o.fleet.slack = 0 // sweep every round
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
				if err := o.Write(ctx, r); err != nil {
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
