package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A record on disk is a frame:
//
//	length  uint32 LE  bytes of the payload
//	crc     uint32 LE  CRC-32C (Castagnoli) of the payload
//	payload:
//	  round   int64 LE   the round's time, Unix milliseconds
//	  index   uint32 LE  this record's place in its round, from 0
//	  count   uint32 LE  records in its round
//	  samples uint32 LE  samples in the body
//	  body    the rest   opaque to the queue
const (
	frameHeader   = 8
	payloadHeader = 20
	// MaxBody bounds one record's body, so a corrupt length is never
	// trusted for a huge allocation.
	MaxBody = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one unit of the queue: a batch of one round, sent as a whole.
type Record struct {
	// Round is the round's time, Unix milliseconds.
	Round int64
	// Index is the record's place in its round and Count the number of
	// records of the round; a round is appended whole or not at all.
	Index, Count uint32
	// Samples counts the samples in Body, for the queue's accounting.
	Samples uint32
	Body    []byte
}

// size is the record's length on disk.
func (r Record) size() int64 { return int64(frameHeader + payloadHeader + len(r.Body)) }

// appendRecord appends r's frame to b.
func appendRecord(b []byte, r Record) []byte {
	n := payloadHeader + len(r.Body)
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	b = binary.LittleEndian.AppendUint32(b, 0) // crc, below
	p := len(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Round))
	b = binary.LittleEndian.AppendUint32(b, r.Index)
	b = binary.LittleEndian.AppendUint32(b, r.Count)
	b = binary.LittleEndian.AppendUint32(b, r.Samples)
	b = append(b, r.Body...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[p:], castagnoli))
	return b
}

// errShort means the bytes end inside a frame: a torn tail, when at the
// end of the last segment.
var errShort = errors.New("record cut short")

// frameLen checks a frame header and returns the payload's length.
func frameLen(h []byte) (int, error) {
	if len(h) < frameHeader {
		return 0, errShort
	}
	n := binary.LittleEndian.Uint32(h)
	if n < payloadHeader || n > payloadHeader+MaxBody {
		return 0, fmt.Errorf("record length %d out of range", n)
	}
	return int(n), nil
}

// decodeRecord decodes the frame at the start of b and returns it with
// the frame's length. The body aliases b. A frame cut short is errShort;
// a bad length, checksum or header is another error.
func decodeRecord(b []byte) (Record, int, error) {
	n, err := frameLen(b)
	if err != nil {
		return Record{}, 0, err
	}
	if len(b) < frameHeader+n {
		return Record{}, 0, errShort
	}
	p := b[frameHeader : frameHeader+n]
	if got, want := crc32.Checksum(p, castagnoli), binary.LittleEndian.Uint32(b[4:]); got != want {
		return Record{}, 0, fmt.Errorf("record checksum %08x, want %08x", got, want)
	}
	r := Record{
		Round:   int64(binary.LittleEndian.Uint64(p)),
		Index:   binary.LittleEndian.Uint32(p[8:]),
		Count:   binary.LittleEndian.Uint32(p[12:]),
		Samples: binary.LittleEndian.Uint32(p[16:]),
		Body:    p[payloadHeader:],
	}
	if r.Count == 0 || r.Index >= r.Count {
		return Record{}, 0, fmt.Errorf("record %d of %d in its round", r.Index, r.Count)
	}
	return r, frameHeader + n, nil
}
