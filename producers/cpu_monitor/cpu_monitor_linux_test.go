package cpu_monitor

import (
	"encoding/binary"
	"testing"
)

func TestParseAuxv(t *testing.T) {
	t.Parallel()
	vec := func(kv ...uint64) []byte {
		b := make([]byte, 8*len(kv))
		for i, v := range kv {
			binary.LittleEndian.PutUint64(b[8*i:], v)
		}
		return b
	}
	cases := []struct {
		name string
		in   []byte
		want int64
	}{
		{"present", vec(6, 4096, 17, 250, 0, 0), 250},
		{"absent", vec(6, 4096, 0, 0), 100},
		{"after the end", vec(0, 0, 17, 250), 100},
		{"truncated", vec(6, 4096, 17)[:20], 100},
		{"empty", nil, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := parseAuxv(tc.in, atClkTck, 100); got != tc.want {
				t.Errorf("parseAuxv = %d, want %d", got, tc.want)
			}
		})
	}
	if got := clockTicks(); got <= 0 {
		t.Errorf("clockTicks() = %d on this machine", got)
	}
}
