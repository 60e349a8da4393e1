package queue

import (
	"bytes"
	"errors"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	in := []Record{
		{Round: 1764000000500, Index: 0, Count: 2, Samples: 3, Body: []byte("abc")},
		{Round: 1764000000500, Index: 1, Count: 2, Samples: 0, Body: nil},
	}
	var b []byte
	for _, r := range in {
		b = appendRecord(b, r)
	}
	for i, want := range in {
		got, n, err := decodeRecord(b)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if got.Round != want.Round || got.Index != want.Index || got.Count != want.Count ||
			got.Samples != want.Samples || !bytes.Equal(got.Body, want.Body) || int64(n) != want.size() {
			t.Errorf("record %d: got %+v (%d bytes), want %+v", i, got, n, want)
		}
		b = b[n:]
	}
}

func TestRecordDamage(t *testing.T) {
	good := appendRecord(nil, Record{Round: 5, Count: 1, Samples: 1, Body: []byte("body")})
	flip := bytes.Clone(good)
	flip[len(flip)-1] ^= 1
	badIndex := appendRecord(nil, Record{Round: 5, Index: 1, Count: 1, Body: []byte("x")})
	tests := []struct {
		name  string
		b     []byte
		short bool
	}{
		{"empty", nil, true},
		{"header cut", good[:5], true},
		{"body cut", good[:len(good)-1], true},
		{"bit flipped", flip, false},
		{"index past count", badIndex, false},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeRecord(tt.b)
			if err == nil {
				t.Fatal("damaged record decoded")
			}
			if errors.Is(err, errShort) != tt.short {
				t.Errorf("err = %v; short = %v, want %v", err, errors.Is(err, errShort), tt.short)
			}
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, Record{Round: 1, Count: 1, Samples: 2, Body: []byte("hello")}))
	f.Add([]byte{20, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := decodeRecord(b)
		if err != nil {
			return
		}
		if n > len(b) || n != int(r.size()) {
			t.Fatalf("frame of %d bytes from %d bytes", n, len(b))
		}
		if r.Index >= r.Count {
			t.Fatalf("record %d of %d accepted", r.Index, r.Count)
		}
		// What decodes re-encodes to the same bytes.
		if again := appendRecord(nil, r); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoded differently")
		}
	})
}
