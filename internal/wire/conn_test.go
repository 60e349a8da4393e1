package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/daemon"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	st := sdk.NewStats()
	st.Counters["a.b"] = 7
	st.Stats["c.d"] = sdk.Float(0.5)
	st.Stats["c.e"] = sdk.Null
	tests := []struct {
		name string
		m    *Message
	}{
		{"hello", NewHello("secret", "storage-01", map[string]string{"statsherd": "1.0"})},
		{"welcome", NewWelcome("abc", 60000, MaxProtocol)},
		{"refuse", NewRefuse("wrong secret")},
		{"poll", NewPoll(3, 5000)},
		{"answer", NewAnswer(&Answer{Id: 3, Stats: daemon.StatsToProto(st)})},
		{"answer with error", NewAnswer(&Answer{Id: 4, Error: "no stats"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			ca, cb := NewConn(a, 0), NewConn(b, 0)
			errc := make(chan error, 1)
			go func() { errc <- ca.Send(tt.m) }()
			got, err := cb.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, tt.m) {
				t.Errorf("got %v, want %v", got, tt.m)
			}
			if Kind(got) != tt.name && !strings.HasPrefix(tt.name, Kind(got)) {
				t.Errorf("Kind = %q", Kind(got))
			}
		})
	}
}

func frame(payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
	return append(b, payload...)
}

func TestReadBad(t *testing.T) {
	t.Parallel()
	huge := binary.BigEndian.AppendUint32(nil, 1<<31)
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantErr string
		is      error
	}{
		{name: "empty stream", in: nil, max: 100, wantErr: "reading message length", is: io.EOF},
		{name: "zero length", in: frame(nil), max: 100, wantErr: "empty message"},
		{name: "over the bound", in: frame(make([]byte, 101)), max: 100, wantErr: "limit 100", is: ErrTooLarge},
		{name: "huge length, no body", in: huge, max: 100, wantErr: "too large", is: ErrTooLarge},
		{name: "truncated", in: frame([]byte{1, 2, 3})[:5], max: 100, wantErr: "reading message of 3 bytes", is: io.ErrUnexpectedEOF},
		{name: "garbage", in: frame([]byte{0xff, 0xff, 0xff}), max: 100, wantErr: "decoding message"},
		{name: "no body", in: frame([]byte{0x78, 0x01}), max: 100, wantErr: "unknown kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := ReadFrame(bytes.NewReader(tt.in), tt.max, nil)
			if err == nil {
				_, err = Decode(b)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, m := range []*Message{NewHello("s", "n", map[string]string{"a": "b"}), NewPoll(1, 2), NewAnswer(&Answer{Id: 1})} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadFrame(bytes.NewReader(frame(b)), 1<<16, nil)
		if err != nil {
			return
		}
		msg, err := Decode(m)
		if err != nil {
			return
		}
		if a := msg.GetAnswer(); a != nil {
			_, _ = daemon.StatsFromProto(a.GetStats())
		}
		out, err := AppendFrame(nil, msg)
		if err != nil {
			t.Fatalf("re-encoding a decoded message: %v", err)
		}
		again, err := Decode(out[4:])
		if err != nil || !proto.Equal(again, msg) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func BenchmarkAnswer100(b *testing.B) {
	st := sdk.NewStats()
	for i := range 50 {
		st.Counters["group.counter_"+string(rune('a'+i%26))+string(rune('a'+i/26))] = int64(i)
		st.Stats["group.stat_"+string(rune('a'+i%26))+string(rune('a'+i/26))] = sdk.Float(float64(i) / 3)
	}
	m := NewAnswer(&Answer{Id: 1, Stats: daemon.StatsToProto(st)})
	buf, _ := AppendFrame(nil, m)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		msg, err := Decode(buf[4:])
		if err != nil {
			b.Fatal(err)
		}
		if _, err := daemon.StatsFromProto(msg.GetAnswer().GetStats()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRecvFrameIfRefusesUnread: a frame refused by accept is not read.
func TestRecvFrameIfRefusesUnread(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		frame, _ := AppendFrame(nil, NewPoll(7, 1))
		b.Write(frame) // blocks after the header: nobody reads the rest
	}()
	no := errors.New("not now")
	var got int
	_, err := NewConn(a, 0).RecvFrameIf(func(n int) error { got = n; return no })
	if !errors.Is(err, no) || got == 0 {
		t.Fatalf("RecvFrameIf = %v (size %d), want the accept error", err, got)
	}
}

// TestAppendAnswerFrame: the hand-built frame decodes as the Answer the
// generated code would build (field numbers kept in step with wire.proto).
func TestAppendAnswerFrame(t *testing.T) {
	t.Parallel()
	st := sdk.NewStats()
	st.Counters["a.b"] = 7
	st.Stats["c.d"] = sdk.Float(0.5)
	enc, err := proto.Marshal(daemon.StatsToProto(st))
	if err != nil {
		t.Fatal(err)
	}
	frame := AppendAnswerFrame([]byte("x"), 42, enc)
	if frame[0] != 'x' {
		t.Fatalf("AppendAnswerFrame did not append")
	}
	payload, err := ReadFrame(bytes.NewReader(frame[1:]), DefaultMaxMessageSize, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	a := m.GetAnswer()
	if a == nil || a.GetId() != 42 {
		t.Fatalf("decoded %v, want an Answer with id 42", m)
	}
	got, err := daemon.StatsFromProto(a.GetStats())
	if err != nil || got.Counters["a.b"] != 7 || got.Stats["c.d"] != sdk.Float(0.5) {
		t.Errorf("stats %v (%v), want a.b 7 and c.d 0.5", got, err)
	}
}

// writeSizes is a net.Conn that records the size of each write.
type writeSizes struct {
	net.Conn
	sizes []int
	buf   []byte
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// TestSetWriteChunk: a message is written in pieces of at most the
// chunk (over TLS, one record each), which together are its frame.
func TestSetWriteChunk(t *testing.T) {
	st := sdk.NewStats()
	for i := range 500 {
		st.Counters["chunk.counter_"+strings.Repeat("x", i%20)+string(rune('a'+i%26))+string(rune('a'+i/26))] = int64(i)
	}
	m := NewAnswer(&Answer{Id: 9, Stats: daemon.StatsToProto(st)})
	want, err := AppendFrame(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{0, 1, SmallRecord, len(want) - 1, len(want), len(want) + 1} {
		w := &writeSizes{}
		c := NewConn(w, 0)
		c.SetWriteChunk(chunk)
		if err := c.Send(m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.buf, want) {
			t.Fatalf("chunk %d: wrote %d bytes that are not the frame (%d bytes)", chunk, len(w.buf), len(want))
		}
		limit := chunk
		if chunk == 0 {
			limit = len(want)
		}
		for _, n := range w.sizes {
			if n > limit {
				t.Errorf("chunk %d: a write of %d bytes", chunk, n)
			}
		}
		if wantWrites := (len(want) + limit - 1) / limit; len(w.sizes) != wantWrites {
			t.Errorf("chunk %d: %d writes, want %d", chunk, len(w.sizes), wantWrites)
		}
	}
}

// TestNegotiate: a host before labels (no max_protocol) is welcomed with
// version 1; one that speaks labels with version 2.
func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		hello *Hello
		want  uint32
	}{
		{&Hello{Protocol: 1}, 1},
		{NewHello("s", "n", nil).GetHello(), ProtocolLabels},
		{&Hello{Protocol: 1, MaxProtocol: 9}, MaxProtocol},
	} {
		if got := Negotiate(tc.hello); got != tc.want {
			t.Errorf("Negotiate(%v) = %d, want %d", tc.hello, got, tc.want)
		}
	}
}

// TestReadGrowsWithBytesReceived: a frame announced large but cut short
// holds a buffer of about what arrived, and a full one is read whole
// (issue 25, item 1).
func TestReadGrowsWithBytesReceived(t *testing.T) {
	hdr := []byte{0x00, 0x3f, 0xfe, 0x50} // 4,193,872 bytes announced
	var grew []int
	r := &recordingReader{r: bytes.NewReader(append(hdr, make([]byte, 1000)...)), caps: &grew}
	if _, err := ReadFrame(r, 4<<20, nil); err == nil || !strings.Contains(err.Error(), "1000 received") {
		t.Fatalf("short frame: %v", err)
	}
	for _, c := range grew {
		if c > growStep {
			t.Fatalf("buffer of %d bytes for 1,000 received", c)
		}
	}
	payload := bytes.Repeat([]byte("x"), 300_000)
	b, err := ReadFrame(bytes.NewReader(append([]byte{0, 0x04, 0x93, 0xe0}, payload...)), 4<<20, nil)
	if err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("whole frame: %d bytes, %v", len(b), err)
	}
}

// recordingReader records the size of every buffer read into.
type recordingReader struct {
	r    io.Reader
	caps *[]int
}

func (r *recordingReader) Read(b []byte) (int, error) {
	*r.caps = append(*r.caps, len(b))
	return r.r.Read(b)
}
