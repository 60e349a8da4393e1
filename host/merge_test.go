package host

import (
	"reflect"
	"sort"
	"testing"

	"github.com/statsherd/statsherd/sdk"
)

func TestMerge(t *testing.T) {
	t.Parallel()
	stats := func(c map[string]int64, s map[string]sdk.Value) sdk.Stats { return sdk.Stats{Counters: c, Stats: s} }
	tests := []struct {
		name      string
		parts     []part
		want      sdk.Stats
		conflicts []conflict
	}{
		{
			name: "disjoint",
			parts: []part{
				{"host", stats(map[string]int64{"statsherd.polls": 1}, nil)},
				{"producer a", stats(map[string]int64{"a.n": 2}, map[string]sdk.Value{"a.v": sdk.Float(0.5)})},
			},
			want: stats(map[string]int64{"statsherd.polls": 1, "a.n": 2}, map[string]sdk.Value{"a.v": sdk.Float(0.5)}),
		},
		{
			name: "first in order wins",
			parts: []part{
				{"producer a", stats(map[string]int64{"x": 1}, map[string]sdk.Value{"y": sdk.Int(1)})},
				{"producer b", stats(map[string]int64{"x": 2}, map[string]sdk.Value{"y": sdk.Int(2)})},
				{"statsd", stats(map[string]int64{"x": 3}, nil)},
			},
			want: stats(map[string]int64{"x": 1}, map[string]sdk.Value{"y": sdk.Int(1)}),
			conflicts: []conflict{
				{Name: "x", Kind: sdk.Counter, Winner: "producer a", Loser: "producer b"},
				{Name: "x", Kind: sdk.Counter, Winner: "producer a", Loser: "statsd"},
				{Name: "y", Kind: sdk.Stat, Winner: "producer a", Loser: "producer b"},
			},
		},
		{
			name: "a counter and a stat may share a name",
			parts: []part{
				{"producer a", stats(map[string]int64{"x": 1}, nil)},
				{"producer b", stats(nil, map[string]sdk.Value{"x": sdk.Null})},
			},
			want: stats(map[string]int64{"x": 1}, map[string]sdk.Value{"x": sdk.Null}),
		},
		{
			name: "a failed source has nothing",
			parts: []part{
				{"producer a", sdk.Stats{}},
				{"producer b", stats(map[string]int64{"b": 1}, nil)},
			},
			want: stats(map[string]int64{"b": 1}, map[string]sdk.Value{}),
		},
		{
			name: "the host's own names win over a producer's",
			parts: []part{
				{"host", stats(map[string]int64{"statsherd.polls": 7}, nil)},
				{"producer evil", stats(map[string]int64{"statsherd.polls": 0}, nil)},
			},
			want:      stats(map[string]int64{"statsherd.polls": 7}, map[string]sdk.Value{}),
			conflicts: []conflict{{Name: "statsherd.polls", Kind: sdk.Counter, Winner: "host", Loser: "producer evil"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for range 3 { // the same every time, whatever the map order
				got, conflicts := merge(tt.parts)
				if len(got.Stats) == 0 && len(tt.want.Stats) == 0 {
					got.Stats, tt.want.Stats = nil, nil
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("merged %v, want %v", got, tt.want)
				}
				sort.Slice(conflicts, func(i, j int) bool {
					a, b := conflicts[i], conflicts[j]
					return a.Name+a.Loser < b.Name+b.Loser
				})
				if len(conflicts) != len(tt.conflicts) || (len(conflicts) > 0 && !reflect.DeepEqual(conflicts, tt.conflicts)) {
					t.Fatalf("conflicts %v, want %v", conflicts, tt.conflicts)
				}
			}
		})
	}
}
