package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/statsherd/statsherd/internal/durable"
)

// TestQueueAckCursorSurvivesReopen: with segments of the default size (a
// round's ack removes no segment), the acked rounds are not sent again
// after a restart: the cursor is what remembers them.
func TestQueueAckCursorSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Dir: dir}
	q := open(t, opt)
	for r := int64(1); r <= 4; r++ {
		if err := q.Append(round(r, 2, 5)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // rounds 1 and 2 delivered
		var last Entry
		for range 2 {
			e, err := q.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			last = e
		}
		if err := q.Ack(last.Next, 2, 10, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.Segments != 1 {
		t.Fatalf("stats %+v: the test needs the rounds in one segment", st)
	}
	q.Close()

	q = open(t, opt)
	if st := q.Stats(); st.Records != 4 || st.Samples != 20 || st.Oldest.UnixMilli() != 3 {
		t.Errorf("after reopen: stats %+v, want rounds 3 and 4 (4 records) waiting", st)
	}
	got := drain(t, q)
	want := []string{"round 3 record 0", "round 3 record 1", "round 4 record 0", "round 4 record 1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after reopen sent %q, want %q (acked rounds sent again)", got, want)
	}
}

// syncLog is a durable.Disk that records each fsync: the file's name and
// its size at the time (directories end in "/").
type syncLog struct {
	mu     sync.Mutex
	synced []string
}

func (l *syncLog) disk() *durable.Disk {
	return &durable.Disk{SyncFile: func(f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		entry := fmt.Sprintf("%s %d", filepath.Base(f.Name()), fi.Size())
		if fi.IsDir() {
			entry = filepath.Base(f.Name()) + "/"
		}
		l.mu.Lock()
		l.synced = append(l.synced, entry)
		l.mu.Unlock()
		return f.Sync()
	}}
}

// take returns the syncs since the last take.
func (l *syncLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.synced
	l.synced = nil
	return s
}

// TestQueueSyncs: what Append and Ack report done is on stable storage:
// each appended round is fsynced (whole: the sync sees the segment at its
// final size) before Append returns, a new segment's name is synced with
// its directory, and an ack's cursor is synced, file and directory.
func TestQueueSyncs(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Base(dir) + "/"
	var log syncLog
	q := open(t, Options{Dir: dir, SegmentBytes: 150, MaxBytes: 1 << 20, Disk: log.disk()})
	if got := log.take(); len(got) == 0 || got[len(got)-1] != base {
		t.Errorf("Open synced %q: want the directory holding the new segment", got)
	}
	seg := func(seq int) string { return fmt.Sprintf("%020d.seg", seq) }
	size := func(name string) int64 {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	prevSegs := 1
	for r := int64(1); r <= 4; r++ {
		if err := q.Append(round(r, 2, 5)); err != nil {
			t.Fatal(err)
		}
		segs := q.Stats().Segments
		want := fmt.Sprintf("%s %d", seg(segs), size(seg(segs)))
		got := log.take()
		if len(got) == 0 || got[len(got)-1] != want {
			t.Fatalf("round %d: synced %q, want last %q (the round's segment, whole)", r, got, want)
		}
		if segs != prevSegs && !slices.Contains(got, base) {
			t.Errorf("round %d started segment %d: synced %q, want the directory too", r, segs, got)
		}
		prevSegs = segs
	}
	if q.Stats().Segments < 2 {
		t.Fatal("no rotation: the test needs smaller segments")
	}
	var last Entry
	for range 2 { // round 1
		e, err := q.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		last = e
	}
	if err := q.Ack(last.Next, 2, 10, 0, 0); err != nil {
		t.Fatal(err)
	}
	got := log.take()
	// The last cursor write: its temporary file (84 bytes: the cursor
	// twice, issue 25), then the directory after the rename.
	if n := len(got); n < 2 || !strings.HasPrefix(got[n-2], ".cursor.tmp") || !strings.HasSuffix(got[n-2], " 84") || got[n-1] != base {
		t.Errorf("Ack synced %q, want the cursor's temporary file (84 bytes) then the directory", got)
	}
}
