// Package queue is the outputs' durable queue (remote_write's first): rounds
// not yet accepted by the receiver, on disk, in order, bounded by a size and an age.
//
// The queue is a directory of segment files (00000000000000000001.seg, …),
// each a run of checksummed records (see record.go), appended to and
// fsynced before Append returns, and a cursor file naming the first record
// not yet delivered. A round's records are appended together and never
// split over two segments. At Open a torn tail (a kill -9 in the middle of
// an append) is cut off, down to the last whole round, and the queue goes
// on from the cursor, so a restart re-sends at most the rounds that were
// being sent. A damaged record elsewhere costs that record alone: the
// next good record is found by its header and checksum (resync), and the
// damaged bytes are skipped (a hole) and counted as a dropped record.
// Records before the cursor stay delivered whatever is damaged, and the
// cursor is kept twice in its file, so damage to one copy loses nothing.
// A lock file keeps a second process out.
//
// Bounds: when the segments on disk pass MaxBytes, whole segments are
// dropped from the oldest; records older than MaxAge are dropped as the
// reader meets them. Both count the dropped records and samples. A full
// disk first reclaims what is delivered (the segment being written, once
// all of it is), then drops the oldest segments, then the round; the
// rounds and samples so lost are counted as dropped, and the appends that
// met a full disk in DiskFull. Memory use does not grow with the queue:
// only a few numbers per segment are kept, and one record is read at a
// time.
package queue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/durable"
)

// ErrClosed is returned by a closed queue.
var ErrClosed = errors.New("queue closed")

// Defaults of Options.
const (
	DefaultMaxBytes     = 1 << 30
	DefaultMaxAge       = 24 * time.Hour
	DefaultSegmentBytes = 32 << 20
)

// Options configure a queue.
type Options struct {
	// Dir holds the queue; it is created if missing.
	Dir string
	// MaxBytes bounds the segments on disk (DefaultMaxBytes).
	MaxBytes int64
	// MaxAge bounds the age of a round still to send (DefaultMaxAge).
	MaxAge time.Duration
	// SegmentBytes is the size past which a new segment is started
	// (DefaultSegmentBytes, at most MaxBytes/4).
	SegmentBytes int64
	// LockWait is how long Open waits for a process that still holds the
	// queue (one exiting) before it fails (5 s).
	LockWait time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Disk does the fsyncs (nil: for real); tests watch them there.
	Disk *durable.Disk
	Log  hclog.Logger
}

// Pos is a record's place: a segment and a byte offset in it.
type Pos struct {
	Seg uint64
	Off int64
}

// Less reports whether p comes before o.
func (p Pos) Less(o Pos) bool { return p.Seg < o.Seg || p.Seg == o.Seg && p.Off < o.Off }

// Entry is a record read from the queue, with its place and the place of
// the record after it.
type Entry struct {
	Record
	Pos, Next Pos
}

// segment is what is kept in memory of one segment file.
type segment struct {
	seq     uint64
	size    int64 // bytes of whole rounds: readers stop here
	records int64 // not yet delivered nor dropped
	samples int64 // ditto
	holes   []hole
}

// hole is a damaged span of a segment, skipped by readers: [from, to).
type hole struct{ from, to int64 }

// holeAt returns the end of the hole off is in, or off.
func (s *segment) holeAt(off int64) int64 {
	for _, h := range s.holes {
		if h.from <= off && off < h.to {
			return h.to
		}
	}
	return off
}

// Stats describe the queue.
type Stats struct {
	// Records and Samples wait to be delivered.
	Records, Samples int64
	// Bytes are the segments' size on disk; Segments their number.
	Bytes    int64
	Segments int
	// Oldest is the time of the oldest round waiting (zero if none).
	Oldest time.Time
	// DroppedRecords and DroppedSamples were dropped at the bounds, for
	// a full disk, or found damaged (a damaged record's samples are not
	// known: only the record counts), since Open.
	DroppedRecords, DroppedSamples int64
	// DiskFull counts the appends that met a full disk since Open.
	DiskFull int64
}

// Queue is a durable FIFO of records. Append is called by one writer,
// Next by one reader; Ack and Stats by anyone.
type Queue struct {
	opt  Options
	log  hclog.Logger
	lock *os.File

	mu      sync.Mutex
	segs    []*segment // oldest first; the last is written to
	w       *os.File   // the last segment, open for appending
	ack     Pos        // the first record not yet delivered
	read    Pos        // the reader's next record
	rf      *os.File   // the reader's segment
	rfSeq   uint64
	wake    chan struct{}
	closed  bool
	dropRec int64
	dropSmp int64
	full    int64
	buf     []byte
	// Drops are logged as a summary at most once a minute.
	dropLogged  time.Time
	dropSegs    int64 // segments dropped since the last log line
	dropSmpLast int64 // dropSmp at the last log line
}

const (
	cursorFile = "cursor"
	lockFile   = "lock"
	segSuffix  = ".seg"
)

// Open opens (or creates) the queue in opt.Dir, recovering from a torn
// tail, and locks it.
func Open(opt Options) (*Queue, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = DefaultMaxAge
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = DefaultSegmentBytes
	}
	opt.SegmentBytes = max(min(opt.SegmentBytes, opt.MaxBytes/4), 1)
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(opt.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the queue directory: %w", err)
	}
	if opt.LockWait <= 0 {
		opt.LockWait = 5 * time.Second
	}
	lock, err := lockDir(opt.Dir, opt.LockWait)
	if err != nil {
		return nil, err
	}
	q := &Queue{opt: opt, log: opt.Log, lock: lock, wake: make(chan struct{}, 1)}
	if err := q.load(); err != nil {
		q.closeFiles()
		return nil, err
	}
	return q, nil
}

// lockDir takes an exclusive lock on dir/lock, waiting a little for a
// process that is exiting.
func lockDir(dir string, wait time.Duration) (*os.File, error) {
	deadline := time.Now().Add(wait)
	for {
		f, err := durable.Lock(filepath.Join(dir, lockFile))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, durable.ErrLocked) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the queue in %s is in use by another process (%w); give each remote_write output its own dir", dir, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// load reads the segments and the cursor, cutting off damaged tails.
func (q *Queue) load() error {
	ents, err := os.ReadDir(q.opt.Dir)
	if err != nil {
		return fmt.Errorf("reading the queue directory: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, n)
	}
	slices.Sort(seqs)
	q.ack = q.readCursor()
	for _, seq := range seqs {
		if seq < q.ack.Seg {
			// Delivered before a crash that came before its removal.
			os.Remove(q.segPath(seq))
			continue
		}
		// Records before the cursor are delivered: not counted.
		var delivered int64
		if seq == q.ack.Seg {
			delivered = q.ack.Off
		}
		s, err := q.scan(seq, delivered)
		if err != nil {
			return err
		}
		q.segs = append(q.segs, s)
	}
	if len(q.segs) == 0 {
		s := &segment{seq: max(q.ack.Seg, 1)}
		q.segs = append(q.segs, s)
		q.ack = Pos{Seg: s.seq}
	}
	if first := q.segs[0]; q.ack.Seg != first.seq {
		q.ack = Pos{Seg: first.seq}
	} else if q.ack.Off > first.size {
		// The cursor is past a cut tail: all that is left was
		// delivered, and stays so.
		q.ack.Off = first.size
	}
	last := q.segs[len(q.segs)-1]
	w, err := os.OpenFile(q.segPath(last.seq), os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("opening the queue's segment: %w", err)
	}
	if _, err := w.Seek(last.size, io.SeekStart); err != nil {
		w.Close()
		return fmt.Errorf("opening the queue's segment: %w", err)
	}
	// The segment may be new: its name must survive what is synced
	// into it.
	if err := q.opt.Disk.SyncDir(q.opt.Dir); err != nil {
		w.Close()
		return err
	}
	q.w = w
	q.read = q.ack
	st := q.statsLocked()
	q.log.Info("queue opened", "dir", q.opt.Dir, "segments", len(q.segs), "records", st.Records,
		"samples", st.Samples, "bytes", st.Bytes)
	return nil
}

// scan reads a segment's records, counting those that end after
// delivered, and cuts the file after its last whole round: a torn tail
// (a kill -9 in an append: a round the gatherer was never told is queued)
// is removed. A damaged record with good records after it is a hole: the
// next good record is found by resync, and the damage costs that record
// alone (counted as dropped). Damage in the last round of the last
// segment cannot be told from a torn append, and costs that round.
func (q *Queue) scan(seq uint64, delivered int64) (*segment, error) {
	path := q.segPath(seq)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening queue segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("queue segment: %w", err)
	}
	s := &segment{seq: seq}
	var (
		off              int64
		pendRec, pendSmp int64 // records since the last round's end, after delivered
		reason           error
		holes            []hole
	)
	var buf []byte
	for off < fi.Size() {
		r, size, err := readRecord(f, off, &buf)
		if err != nil {
			next, ok := resync(f, off+1, fi.Size())
			if !ok {
				reason = err
				break
			}
			q.log.Warn("queue segment damaged; skipping the damaged record", "segment", path,
				"offset", off, "bytes_skipped", next-off, "reason", err)
			holes = append(holes, hole{off, next})
			off = next
			continue
		}
		off += int64(size)
		if off > delivered {
			pendRec++
			pendSmp += int64(r.Samples)
		}
		if r.Index == r.Count-1 {
			// A round's end: what is before it is kept (a round cut
			// short by a hole in the middle of the segment included).
			s.size = off
			s.records += pendRec
			s.samples += pendSmp
			pendRec, pendSmp = 0, 0
		}
	}
	for _, h := range holes {
		if h.to <= s.size {
			s.holes = append(s.holes, h)
			if h.from >= delivered {
				q.dropRec++
			}
		}
	}
	if s.size < fi.Size() {
		if reason == nil {
			reason = errors.New("the last round is incomplete")
		}
		q.log.Warn("queue segment has a damaged or torn tail; cutting it off",
			"segment", path, "kept_bytes", s.size, "cut_bytes", fi.Size()-s.size, "reason", reason)
		if err := os.Truncate(path, s.size); err != nil {
			return nil, fmt.Errorf("cutting the torn tail of queue segment %s: %w; remove the file if the problem persists", path, err)
		}
	}
	return s, nil
}

// resync finds the first good record of f in [from, limit): a frame
// whose length fits, whose header is that of a record of a round, and
// whose checksum holds. false means there is none.
func resync(f *os.File, from, limit int64) (int64, bool) {
	const window = 1 << 20
	var buf, rec []byte
	for base := from; base < limit; base += window {
		n := min(window+frameHeader+payloadHeader, limit-base)
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		b := buf[:n]
		if _, err := f.ReadAt(b, base); err != nil && !errors.Is(err, io.EOF) {
			return 0, false
		}
		for i := int64(0); i < min(window, n) && base+i < limit; i++ {
			if n-i < frameHeader+payloadHeader {
				break
			}
			h := b[i:]
			l := int64(binary.LittleEndian.Uint32(h))
			if l < payloadHeader || l > payloadHeader+MaxBody || base+i+frameHeader+l > limit {
				continue
			}
			idx, cnt := binary.LittleEndian.Uint32(h[frameHeader+8:]), binary.LittleEndian.Uint32(h[frameHeader+12:])
			if cnt == 0 || cnt > maxRoundRecords || idx >= cnt {
				continue
			}
			if _, _, err := readRecord(f, base+i, &rec); err == nil {
				return base + i, true
			}
		}
	}
	return 0, false
}

// maxRoundRecords bounds the records of one round that resync believes.
const maxRoundRecords = 1 << 20

// readRecord reads the record at off into *buf.
func readRecord(f *os.File, off int64, buf *[]byte) (Record, int, error) {
	h := make([]byte, frameHeader)
	if _, err := f.ReadAt(h, off); err != nil {
		return Record{}, 0, errShort
	}
	n, err := frameLen(h)
	if err != nil {
		return Record{}, 0, err
	}
	if cap(*buf) < frameHeader+n {
		*buf = make([]byte, frameHeader+n)
	}
	b := (*buf)[:frameHeader+n]
	if _, err := f.ReadAt(b, off); err != nil {
		return Record{}, 0, errShort
	}
	return decodeRecord(b)
}

func (q *Queue) segPath(seq uint64) string {
	return filepath.Join(q.opt.Dir, fmt.Sprintf("%020d%s", seq, segSuffix))
}

// The cursor file holds the cursor twice, cursorCopy bytes apart, each
// copy 20 bytes (segment, offset, CRC-32C): damage to one copy (up to
// cursorCopy-20 bytes in a row) leaves the other. A file of one copy (an
// older queue's) is read too.
const cursorCopy = 64

// readCursor reads the cursor file; a missing one, or one with no good
// copy, means the start of the queue.
func (q *Queue) readCursor() Pos {
	b, err := os.ReadFile(filepath.Join(q.opt.Dir, cursorFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			q.log.Warn("queue cursor unreadable; sending from the oldest record kept", "error", err)
		}
		return Pos{}
	}
	for _, at := range []int{0, cursorCopy} {
		if len(b) < at+20 {
			break
		}
		c := b[at : at+20]
		if binary.LittleEndian.Uint32(c[16:]) == crc32c(c[:16]) {
			if at > 0 {
				q.log.Warn("queue cursor's first copy damaged; the second is used")
			}
			return Pos{Seg: binary.LittleEndian.Uint64(c), Off: int64(binary.LittleEndian.Uint64(c[8:]))}
		}
	}
	q.log.Warn("queue cursor damaged; sending from the oldest record kept", "bytes", len(b))
	return Pos{}
}

// writeCursor saves the cursor atomically and durably.
func (q *Queue) writeCursor(p Pos) error {
	c := binary.LittleEndian.AppendUint64(nil, p.Seg)
	c = binary.LittleEndian.AppendUint64(c, uint64(p.Off))
	c = binary.LittleEndian.AppendUint32(c, crc32c(c))
	b := make([]byte, cursorCopy+len(c))
	copy(b, c)
	copy(b[cursorCopy:], c)
	if err := q.opt.Disk.WriteFile(filepath.Join(q.opt.Dir, cursorFile), b, 0o640); err != nil {
		return fmt.Errorf("saving the queue cursor: %w", err)
	}
	return nil
}

// Append appends a whole round's records and syncs them to disk, then
// drops the oldest segments past MaxBytes. The records must be one round:
// Index 0…Count-1 in order. On a full disk, what is delivered is
// reclaimed first (the segment being written, once all of it is), then
// the oldest segments are dropped, and if the round still does not fit it
// is dropped: the data lost is counted (DroppedRecords, DroppedSamples)
// and the error says the disk is full.
func (q *Queue) Append(recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	for i, r := range recs {
		if r.Index != uint32(i) || r.Count != uint32(len(recs)) || len(r.Body) > MaxBody {
			return fmt.Errorf("record %d: not record %d of a round of %d (or its body is over %d bytes)", i, r.Index, r.Count, MaxBody)
		}
	}
	err := q.append(recs)
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	q.mu.Lock()
	q.full++
	reclaimed, rerr := q.reclaimDeliveredLocked()
	q.mu.Unlock()
	if rerr != nil {
		q.log.Error("reclaiming delivered queue segments on a full disk", "error", rerr)
	}
	if reclaimed {
		if err = q.append(recs); !errors.Is(err, syscall.ENOSPC) {
			return err
		}
	}
	for errors.Is(err, syscall.ENOSPC) {
		q.mu.Lock()
		if len(q.segs) <= 1 {
			q.mu.Unlock()
			break
		}
		q.dropFirstLocked("the queue's disk is full")
		q.mu.Unlock()
		err = q.append(recs)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		return err
	}
	var samples int64
	for _, r := range recs {
		samples += int64(r.Samples)
	}
	q.mu.Lock()
	q.dropRec += int64(len(recs))
	q.dropSmp += samples
	q.mu.Unlock()
	return fmt.Errorf("the queue's disk is full, nothing is left to reclaim: this round's %d samples are dropped: %w", samples, err)
}

// reclaimDeliveredLocked frees the disk space of delivered records: the
// segment being written, once all of it is delivered, is replaced by a
// new one. It reports whether it freed anything.
func (q *Queue) reclaimDeliveredLocked() (bool, error) {
	last := q.segs[len(q.segs)-1]
	if last.size == 0 || q.ack != (Pos{Seg: last.seq, Off: last.size}) {
		return false, nil
	}
	if err := q.rotateLocked(); err != nil {
		return false, err
	}
	return true, q.removeDeliveredLocked()
}

// append is Append of a checked round, with no recovery from a full disk.
func (q *Queue) append(recs []Record) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	last := q.segs[len(q.segs)-1]
	if last.size >= q.opt.SegmentBytes {
		if err := q.rotateLocked(); err != nil {
			q.mu.Unlock()
			return err
		}
		last = q.segs[len(q.segs)-1]
	}
	start := last.size
	w := q.w
	q.mu.Unlock()

	// Only this writer moves the end of the last segment, so the write
	// and fsync need no lock; readers stop at size until it is moved.
	b := q.buf[:0]
	var n, samples int64
	for _, r := range recs {
		b = appendRecord(b, r)
		n++
		samples += int64(r.Samples)
		if len(b) >= 4<<20 {
			if _, err := w.Write(b); err != nil {
				return q.undo(w, start, err)
			}
			b = b[:0]
		}
	}
	if _, err := w.Write(b); err != nil {
		return q.undo(w, start, err)
	}
	if cap(b) <= 8<<20 {
		q.buf = b[:0]
	} else {
		q.buf = nil
	}
	if err := q.opt.Disk.Sync(w); err != nil {
		return q.undo(w, start, err)
	}
	end, err := w.Seek(0, io.SeekCurrent)
	if err != nil {
		return q.undo(w, start, err)
	}

	q.mu.Lock()
	last.size = end
	last.records += n
	last.samples += samples
	q.enforceSizeLocked()
	q.mu.Unlock()
	q.signal()
	return nil
}

// undo cuts a failed append back off the segment.
func (q *Queue) undo(w *os.File, start int64, err error) error {
	if terr := w.Truncate(start); terr == nil {
		w.Seek(start, io.SeekStart)
	}
	return fmt.Errorf("appending to the queue: %w", err)
}

// rotateLocked starts a new segment.
func (q *Queue) rotateLocked() error {
	seq := q.segs[len(q.segs)-1].seq + 1
	w, err := os.OpenFile(q.segPath(seq), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("starting a queue segment: %w", err)
	}
	if err := q.opt.Disk.SyncDir(q.opt.Dir); err != nil {
		w.Close()
		return err
	}
	q.w.Close()
	q.w = w
	q.segs = append(q.segs, &segment{seq: seq})
	return nil
}

// enforceSizeLocked drops the oldest segments while the queue is over
// MaxBytes (never the one being written).
func (q *Queue) enforceSizeLocked() {
	for len(q.segs) > 1 && q.bytesLocked() > q.opt.MaxBytes {
		q.dropFirstLocked("the queue is over its size bound (max_bytes)")
	}
}

func (q *Queue) bytesLocked() int64 {
	var n int64
	for _, s := range q.segs {
		n += s.size
	}
	return n
}

// dropFirstLocked drops the oldest segment with its undelivered records.
func (q *Queue) dropFirstLocked(why string) {
	s := q.segs[0]
	q.segs = q.segs[1:]
	q.dropRec += s.records
	q.dropSmp += s.samples
	q.dropSegs++
	if now := time.Now(); now.Sub(q.dropLogged) >= time.Minute {
		q.log.Warn("queue full: dropping the oldest data", "reason", why, "segments", q.dropSegs,
			"samples", q.dropSmp-q.dropSmpLast, "dropped_samples_total", q.dropSmp,
			"oldest_kept_segment", q.segs[0].seq)
		q.dropLogged, q.dropSegs, q.dropSmpLast = now, 0, q.dropSmp
	}
	q.removeSegLocked(s.seq)
	next := Pos{Seg: q.segs[0].seq}
	if q.ack.Less(next) {
		q.ack = next
		if err := q.writeCursor(q.ack); err != nil {
			q.log.Error("saving the queue cursor", "error", err)
		}
	}
	if q.read.Less(next) {
		q.read = next
	}
}

// Next returns the next record to send, waiting for one until ctx is done.
// Records older than MaxAge are dropped (and counted) on the way. Next is
// called by one reader; the records it returns are delivered once Ack
// covers them.
func (q *Queue) Next(ctx context.Context) (Entry, error) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			return Entry{}, ErrClosed
		}
		e, ok, err := q.nextLocked()
		q.mu.Unlock()
		if err != nil || ok {
			return e, err
		}
		select {
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		case <-q.wake:
		}
	}
}

// nextLocked reads the record at the read position, if there is one.
func (q *Queue) nextLocked() (Entry, bool, error) {
	for {
		if first := q.segs[0].seq; q.read.Seg < first {
			// Its segment was delivered (read to its end) or dropped.
			q.read = Pos{Seg: first}
		}
		i := q.segIndexLocked(q.read.Seg)
		if i < 0 {
			return Entry{}, false, fmt.Errorf("queue read position %v lost", q.read)
		}
		s := q.segs[i]
		q.read.Off = s.holeAt(q.read.Off)
		if q.read.Off >= s.size {
			if i == len(q.segs)-1 {
				return Entry{}, false, nil
			}
			q.read = Pos{Seg: q.segs[i+1].seq}
			continue
		}
		if q.rf == nil || q.rfSeq != s.seq {
			if q.rf != nil {
				q.rf.Close()
			}
			f, err := os.Open(q.segPath(s.seq))
			if err != nil {
				return Entry{}, false, fmt.Errorf("opening queue segment: %w", err)
			}
			q.rf, q.rfSeq = f, s.seq
		}
		var buf []byte // the body is handed out: a fresh buffer
		r, n, err := readRecord(q.rf, q.read.Off, &buf)
		if err != nil {
			// Damaged since it was scanned: skip to the next good record.
			next, ok := resync(q.rf, q.read.Off+1, s.size)
			if !ok {
				next = s.size
			}
			q.log.Error("queue segment damaged; skipping the damaged record", "segment", q.segPath(s.seq),
				"offset", q.read.Off, "bytes_skipped", next-q.read.Off, "error", err)
			s.holes = append(s.holes, hole{q.read.Off, next})
			q.dropRec++
			q.read = Pos{Seg: s.seq, Off: next}
			continue
		}
		e := Entry{Record: r, Pos: q.read, Next: Pos{Seg: s.seq, Off: q.read.Off + int64(n)}}
		q.read = e.Next
		return e, true, nil
	}
}

func (q *Queue) segIndexLocked(seq uint64) int {
	for i, s := range q.segs {
		if s.seq == seq {
			return i
		}
	}
	return -1
}

// Expired reports whether a record of this round is past MaxAge.
func (q *Queue) Expired(round int64) bool {
	return q.opt.Now().Sub(time.UnixMilli(round)) > q.opt.MaxAge
}

// Dropped reports whether the record at p was dropped at the size bound
// after it was read: its sender should give it up.
func (q *Queue) Dropped(p Pos) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return p.Less(Pos{Seg: q.segs[0].seq})
}

// Ack marks the records from the cursor up to next (the Next of a round's
// last record) as done: delivered, or dropped by the sender and counted
// there as dropped (dropped > 0 counts them here too). Segments wholly
// done are removed.
func (q *Queue) Ack(next Pos, records, samples, dropped, droppedSamples int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.ack.Less(next) {
		return nil // dropped at the bound meanwhile
	}
	if i := q.segIndexLocked(next.Seg); i >= 0 {
		s := q.segs[i]
		s.records -= records
		s.samples -= samples
	}
	q.dropRec += dropped
	q.dropSmp += droppedSamples
	q.ack = next
	return q.removeDeliveredLocked()
}

// removeDeliveredLocked removes the segments wholly delivered (never the
// one being written) and saves the cursor.
func (q *Queue) removeDeliveredLocked() error {
	for len(q.segs) > 1 && (q.segs[0].seq < q.ack.Seg || q.ack.Off >= q.segs[0].size) {
		s := q.segs[0]
		q.segs = q.segs[1:]
		if q.ack.Seg == s.seq {
			q.ack = Pos{Seg: q.segs[0].seq}
		}
		if err := q.writeCursor(q.ack); err != nil {
			return err
		}
		q.removeSegLocked(s.seq)
	}
	return q.writeCursor(q.ack)
}

// removeSegLocked removes segment seq's file, closing the reader's
// descriptor of it, which would keep its space on the disk.
func (q *Queue) removeSegLocked(seq uint64) {
	if q.rf != nil && q.rfSeq == seq {
		q.rf.Close()
		q.rf = nil
	}
	os.Remove(q.segPath(seq))
}

// Stats returns the queue's state.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.statsLocked()
}

func (q *Queue) statsLocked() Stats {
	st := Stats{Segments: len(q.segs), DroppedRecords: q.dropRec, DroppedSamples: q.dropSmp, DiskFull: q.full}
	for _, s := range q.segs {
		st.Records += s.records
		st.Samples += s.samples
		st.Bytes += s.size
	}
	if st.Records > 0 {
		st.Oldest = q.oldestLocked()
	}
	return st
}

// oldestLocked reads the round time of the first record not delivered.
func (q *Queue) oldestLocked() time.Time {
	p := q.ack
	for _, s := range q.segs {
		if s.seq < p.Seg {
			continue
		}
		if p.Seg != s.seq {
			p = Pos{Seg: s.seq}
		}
		p.Off = s.holeAt(p.Off)
		if p.Off >= s.size {
			continue
		}
		f, err := os.Open(q.segPath(s.seq))
		if err != nil {
			return time.Time{}
		}
		h := make([]byte, frameHeader+8)
		_, err = f.ReadAt(h, p.Off)
		f.Close()
		if err != nil {
			return time.Time{}
		}
		return time.UnixMilli(int64(binary.LittleEndian.Uint64(h[frameHeader:])))
	}
	return time.Time{}
}

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Close closes the queue; what is in it stays on disk for the next Open.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.signal()
	return q.closeFiles()
}

func (q *Queue) closeFiles() error {
	var err error
	if q.w != nil {
		err = q.w.Close()
	}
	if q.rf != nil {
		q.rf.Close()
	}
	if q.lock != nil {
		q.lock.Close() // releases the flock
	}
	return err
}

func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
