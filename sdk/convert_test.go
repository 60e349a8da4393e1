package sdk

import (
	"reflect"
	"strings"
	"testing"

	gproto "google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk/internal/codec"
	"github.com/statsherd/statsherd/sdk/proto"
)

func TestStatsProtoRoundTrip(t *testing.T) {
	in := Stats{
		Counters: map[string]int64{"storage_server.allocate": 12, "x.neg": -1},
		Stats:    map[string]Value{"a.int": Int(3), "a.float": Float(0.5), "a.null": Null},
	}
	b, err := gproto.Marshal(codec.StatsToProto(in))
	if err != nil {
		t.Fatal(err)
	}
	var p proto.Stats
	if err := gproto.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	out, err := codec.StatsFromProto(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %#v\nwant %#v", out, in)
	}
}

func TestStatsFromProtoDropsBadNames(t *testing.T) {
	p := &proto.Stats{CounterNames: []string{"ok.c", "bad name"}, CounterValues: []int64{1, 2},
		NullNames: []string{"ok.n", "..."}}
	s, err := codec.StatsFromProto(p)
	if err == nil || !strings.Contains(err.Error(), "dropped 2 invalid names") {
		t.Errorf("err = %v, want 2 dropped names", err)
	}
	if len(s.Counters) != 1 || len(s.Stats) != 1 {
		t.Errorf("kept %v, want the two good names", s)
	}
}

func TestStatsFromProtoMismatchedLists(t *testing.T) {
	p := &proto.Stats{IntNames: []string{"a", "b"}, IntValues: []int64{1}}
	if _, err := codec.StatsFromProto(p); err == nil {
		t.Error("names without values accepted")
	}
}

func FuzzStatsFromProto(f *testing.F) {
	b, _ := gproto.Marshal(codec.StatsToProto(Stats{Counters: map[string]int64{"a.b": 1}, Stats: map[string]Value{"c": Float(1.5), "d": Null}}))
	f.Add(b)
	f.Add([]byte{0x0a, 0x01, 0x20})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p proto.Stats
		if gproto.Unmarshal(b, &p) != nil {
			return
		}
		s, _ := codec.StatsFromProto(&p)
		for k := range s.Counters {
			if ValidName(k) != nil {
				t.Fatalf("invalid counter name %q kept", k)
			}
		}
		for k := range s.Stats {
			if ValidName(k) != nil {
				t.Fatalf("invalid stat name %q kept", k)
			}
		}
	})
}
