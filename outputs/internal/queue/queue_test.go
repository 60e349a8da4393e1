package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// round makes the records of one round: n records of samples samples.
func round(ms int64, n int, samples uint32) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Round: ms, Index: uint32(i), Count: uint32(n), Samples: samples,
			Body: []byte(fmt.Sprintf("round %d record %d", ms, i))}
	}
	return recs
}

func open(t *testing.T, opt Options) *Queue {
	t.Helper()
	q, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// drain reads every waiting record, acking round by round, and returns
// the bodies.
func drain(t *testing.T, q *Queue) []string {
	t.Helper()
	var got []string
	var recs, smp int64
	for q.Stats().Records > recs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		e, err := q.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("next: %v (stats %+v)", err, q.Stats())
		}
		got = append(got, string(e.Body))
		recs++
		smp += int64(e.Samples)
		// At a round's end, or at the last record waiting (a round cut
		// short is kept, as far as its records are whole).
		if e.Index == e.Count-1 || q.Stats().Records == recs {
			if err := q.Ack(e.Next, recs, smp, 0, 0); err != nil {
				t.Fatal(err)
			}
			recs, smp = 0, 0
		}
	}
	return got
}

func TestQueueInOrderAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Dir: dir, SegmentBytes: 100, MaxBytes: 1 << 20}
	q := open(t, opt)
	for r := int64(1); r <= 5; r++ {
		if err := q.Append(round(r, 3, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.Records != 15 || st.Samples != 150 || st.Segments < 2 || st.Oldest.UnixMilli() != 1 {
		t.Fatalf("stats %+v, want 15 records, 150 samples, several segments, oldest round 1", st)
	}
	// Deliver two rounds, then "crash" (close without more acks).
	for i := 0; i < 2; i++ {
		var last Entry
		for j := 0; j < 3; j++ {
			e, err := q.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			last = e
		}
		if err := q.Ack(last.Next, 3, 30, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Next(context.Background()); err != nil { // read, never acked
		t.Fatal(err)
	}
	q.Close()

	q = open(t, opt)
	if st := q.Stats(); st.Records != 9 || st.Samples != 90 || st.Oldest.UnixMilli() != 3 {
		t.Fatalf("after reopen: stats %+v, want rounds 3-5 waiting", st)
	}
	got := drain(t, q)
	var want []string
	for r := 3; r <= 5; r++ {
		for i := 0; i < 3; i++ {
			want = append(want, fmt.Sprintf("round %d record %d", r, i))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if st := q.Stats(); st.Records != 0 || st.Segments != 1 {
		t.Errorf("drained queue: stats %+v, want empty, one segment", st)
	}
}

func TestQueueTornTail(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Dir: dir}
	q := open(t, opt)
	for r := int64(1); r <= 3; r++ {
		if err := q.Append(round(r, 2, 1)); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d.seg", 1))
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	one := appendRecord(nil, round(1, 2, 1)[0])
	tests := []struct {
		name    string
		mangle  func([]byte) []byte
		records int
	}{
		{"cut in the last record", func(b []byte) []byte { return b[:len(b)-3] }, 4},
		{"last round's second record missing", func(b []byte) []byte { return b[:len(b)-len(one)] }, 4},
		{"garbage appended", func(b []byte) []byte { return append(b, 1, 2, 3, 4, 5, 6, 7, 8, 9) }, 6},
		// A damaged record costs that record alone (issue 25).
		{"bit flipped in round 2", func(b []byte) []byte { b[2*len(one)+frameHeader+2] ^= 0x10; return b }, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, filepath.Base(seg)), tt.mangle(append([]byte(nil), full...)), 0o640); err != nil {
				t.Fatal(err)
			}
			q := open(t, Options{Dir: d})
			if got := len(drain(t, q)); got != tt.records {
				t.Errorf("%d records survive, want %d", got, tt.records)
			}
			// The queue goes on after the cut.
			if err := q.Append(round(9, 1, 1)); err != nil {
				t.Fatal(err)
			}
			if got := drain(t, q); len(got) != 1 || got[0] != "round 9 record 0" {
				t.Errorf("after the cut got %q", got)
			}
		})
	}
}

func TestQueueSizeBoundDropsOldest(t *testing.T) {
	dir := t.TempDir()
	q := open(t, Options{Dir: dir, MaxBytes: 1000, SegmentBytes: 200})
	for r := int64(1); r <= 30; r++ {
		if err := q.Append(round(r, 2, 5)); err != nil {
			t.Fatal(err)
		}
	}
	st := q.Stats()
	if st.Bytes > 1000 || st.DroppedRecords == 0 || st.DroppedSamples != 5*st.DroppedRecords {
		t.Fatalf("stats %+v: want at most 1000 bytes and dropped records counted", st)
	}
	if st.Records+st.DroppedRecords != 60 {
		t.Errorf("%d waiting + %d dropped, want 60 records in all", st.Records, st.DroppedRecords)
	}
	got := drain(t, q)
	if got[len(got)-1] != "round 30 record 1" || got[0] == "round 1 record 0" {
		t.Errorf("kept %q: want the newest rounds", got)
	}
}

func TestQueueLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, Options{Dir: dir})
	if _, err := Open(Options{Dir: dir, LockWait: 100 * time.Millisecond}); err == nil {
		t.Fatal("a second Open of the same queue succeeded")
	}
}

func TestQueueExpired(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	q := open(t, Options{Dir: t.TempDir(), MaxAge: time.Minute, Now: func() time.Time { return now }})
	if q.Expired(now.Add(-59 * time.Second).UnixMilli()) {
		t.Error("a round 59 s old expired under max_age 1m")
	}
	if !q.Expired(now.Add(-61 * time.Second).UnixMilli()) {
		t.Error("a round 61 s old did not expire under max_age 1m")
	}
}

// FuzzOpenSegment: whatever bytes a segment holds, Open recovers (keeping
// only whole, valid rounds) and the queue reads and accepts rounds after.
func FuzzOpenSegment(f *testing.F) {
	var good []byte
	for _, r := range round(7, 2, 3) {
		good = appendRecord(good, r)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte("not a segment at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d.seg", 1)), b, 0o640); err != nil {
			t.Fatal(err)
		}
		q, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer q.Close()
		drain(t, q)
		if err := q.Append(round(9, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if got := drain(t, q); len(got) != 1 {
			t.Fatalf("after recovery got %q", got)
		}
	})
}
