package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fillAndDeliver appends rounds 1…n of recs records each to a queue in
// dir, delivers the first acked rounds, and closes it.
func fillAndDeliver(t testing.TB, dir string, n, recs, acked int) {
	t.Helper()
	q, err := Open(Options{Dir: dir, SegmentBytes: 1 << 20, MaxBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for r := 1; r <= n; r++ {
		if err := q.Append(round(int64(r), recs, 10)); err != nil {
			t.Fatal(err)
		}
	}
	for range acked {
		var last Entry
		for range recs {
			e, err := q.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			last = e
		}
		if err := q.Ack(last.Next, int64(recs), int64(recs)*10, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// drainAll reads every record the queue gives, acking each round's last.
func drainAll(t testing.TB, q *Queue) []string {
	t.Helper()
	var got []string
	for q.Stats().Records > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		e, err := q.Next(ctx)
		cancel()
		if err != nil {
			t.Fatalf("next: %v (stats %+v)", err, q.Stats())
		}
		got = append(got, string(e.Body))
		if err := q.Ack(e.Next, 1, int64(e.Samples), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func bodies(from, to, recs int, except ...string) []string {
	var want []string
	for r := from; r <= to; r++ {
		for i := range recs {
			b := fmt.Sprintf("round %d record %d", r, i)
			if !slices.Contains(except, b) {
				want = append(want, b)
			}
		}
	}
	return want
}

// TestQueueDamageCostsOneRecord (issue 25, item 5): damage in delivered
// records neither loses the undelivered rounds after it nor sends the
// delivered ones again; damage in an undelivered record loses that
// record alone.
func TestQueueDamageCostsOneRecord(t *testing.T) {
	seg := fmt.Sprintf("%020d.seg", 1)
	rec := int64(len(appendRecord(nil, round(1, 3, 10)[0])))
	tests := []struct {
		name string
		at   int64 // offset of the bytes overwritten
		n    int   // how many
		want []string
		drop int64
	}{
		{"in delivered records", 2*rec + 5, 64, bodies(5, 10, 3), 0},
		{"in an undelivered record", (6*3+1)*rec + 10, 16, bodies(5, 10, 3, "round 7 record 1"), 1},
		{"across two undelivered records", (8*3+1)*rec - 20, 30, bodies(5, 10, 3, "round 9 record 0", "round 9 record 1"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fillAndDeliver(t, dir, 10, 3, 4)
			f, err := os.OpenFile(filepath.Join(dir, seg), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt(bytes.Repeat([]byte{0xa5}, tt.n), tt.at)
			f.Close()
			q := open(t, Options{Dir: dir})
			got := drainAll(t, q)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
			if st := q.Stats(); st.DroppedRecords != tt.drop {
				t.Errorf("dropped records %d, want %d", st.DroppedRecords, tt.drop)
			}
		})
	}
}

// TestQueueCursorCopies: damage to one copy of the cursor keeps what was
// delivered delivered.
func TestQueueCursorCopies(t *testing.T) {
	for _, at := range []int64{0, 10, cursorCopy, cursorCopy + 15} {
		dir := t.TempDir()
		fillAndDeliver(t, dir, 5, 2, 3)
		f, err := os.OpenFile(filepath.Join(dir, cursorFile), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(bytes.Repeat([]byte{0xff}, 8), at)
		f.Close()
		q := open(t, Options{Dir: dir})
		if got, want := drainAll(t, q), bodies(4, 5, 2); !slices.Equal(got, want) {
			t.Errorf("cursor damaged at %d: got %q, want %q", at, got, want)
		}
		q.Close()
	}
}

// tmpfs mounts a small tmpfs (size bytes) on a new directory, for a full
// disk; it needs root.
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mounting a tmpfs for a full disk (needs root): %v", err)
		}
		t.Skipf("mounting a tmpfs for a full disk (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// bigRound is a round of one record of about n bytes.
func bigRound(ms int64, n int) []Record {
	return []Record{{Round: ms, Index: 0, Count: 1, Samples: 100, Body: bytes.Repeat([]byte{byte(ms)}, n)}}
}

// TestQueueDiskFull (issue 25, item 5): on a full disk the delivered
// records are reclaimed first, so appends go on once the backlog is
// delivered; a round that cannot fit is dropped and counted.
func TestQueueDiskFull(t *testing.T) {
	dir := tmpfs(t, 256<<10)
	q := open(t, Options{Dir: filepath.Join(dir, "q"), SegmentBytes: 1 << 20, MaxBytes: 1 << 30})
	var appended int
	var err error
	for r := int64(1); r < 100; r++ {
		if err = q.Append(bigRound(r, 20<<10)); err != nil {
			break
		}
		appended++
	}
	if !errors.Is(err, syscall.ENOSPC) || appended == 0 {
		t.Fatalf("after %d rounds: %v, want a full disk", appended, err)
	}
	st := q.Stats()
	if st.DiskFull == 0 || st.DroppedSamples != 100 || st.DroppedRecords != 1 {
		t.Errorf("stats %+v: want the disk full counted and the round's 100 samples dropped", st)
	}
	// The backlog is delivered: the next rounds fit again, in the space
	// of the delivered ones.
	if got := drainAll(t, q); len(got) != appended {
		t.Fatalf("delivered %d, want %d", len(got), appended)
	}
	for r := int64(200); r < 200+int64(appended); r++ {
		if err := q.Append(bigRound(r, 20<<10)); err != nil {
			t.Fatalf("round %d after the backlog was delivered: %v (stats %+v)", r, err, q.Stats())
		}
		if got := drainAll(t, q); len(got) != 1 {
			t.Fatalf("round %d: delivered %d", r, len(got))
		}
	}
}

// FuzzQueueRecovery: damage anywhere in a segment or the cursor (a run of
// bytes overwritten, up to 40) never loses an intact undelivered record
// and never sends a delivered one again (the cursor is kept twice); a
// damaged record alone is lost, or, in the last round of the segment
// (where damage looks like a torn append), its round.
func FuzzQueueRecovery(f *testing.F) {
	f.Add(uint8(0), uint32(100), []byte{0xa5, 0xa5, 0xa5, 0xa5}, uint8(2))
	f.Add(uint8(1), uint32(3), []byte{0xff}, uint8(4))
	f.Add(uint8(0), uint32(900), []byte("hello, damage"), uint8(0))
	f.Fuzz(func(t *testing.T, which uint8, at uint32, damage []byte, acked uint8) {
		if len(damage) == 0 || len(damage) > 40 {
			return
		}
		const n, recs = 8, 2
		acked %= n + 1
		dir := t.TempDir()
		fillAndDeliver(t, dir, n, recs, int(acked))
		name := fmt.Sprintf("%020d.seg", 1)
		if which%2 == 1 {
			name = cursorFile
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return // no cursor yet: nothing delivered
		}
		if err != nil {
			t.Fatal(err)
		}
		orig := slices.Clone(b)
		off := int(at) % (len(b) + 1)
		end := min(off+len(damage), len(b))
		copy(b[off:end], damage)
		if err := os.WriteFile(path, b, 0o640); err != nil {
			t.Fatal(err)
		}
		q, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatalf("open after damage: %v", err)
		}
		defer q.Close()
		got := drainAll(t, q)
		// Which records did the damage touch?
		touched := map[string]bool{}
		if name != cursorFile {
			var pos int
			for r := 1; r <= n; r++ {
				for i := range recs {
					size := len(appendRecord(nil, round(int64(r), recs, 10)[i]))
					if pos < end && off < pos+size && !bytes.Equal(b[pos:pos+size], orig[pos:pos+size]) {
						touched[fmt.Sprintf("round %d record %d", r, i)] = true
					}
					pos += size
				}
			}
		}
		// Damage in the last round cannot be told from a torn append
		// (a kill -9 in it), which costs the round: so may this.
		lastRound := false
		for w := range touched {
			if strings.HasPrefix(w, fmt.Sprintf("round %d ", n)) {
				lastRound = true
			}
		}
		for _, w := range bodies(int(acked)+1, n, recs) {
			if lastRound && strings.HasPrefix(w, fmt.Sprintf("round %d ", n)) {
				continue
			}
			if !touched[w] && !slices.Contains(got, w) {
				t.Errorf("intact undelivered record %q lost (damage at %d..%d of %s): got %q", w, off, end, name, got)
			}
		}
		for _, g := range got {
			if slices.Contains(bodies(1, int(acked), recs), g) {
				t.Errorf("delivered record %q sent again (damage at %d..%d of %s)", g, off, end, name)
			}
		}
	})
}
