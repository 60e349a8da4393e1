package wire

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// RawAnswer is an Answer with its stats left encoded (a proto.Stats), for
// a decoder that interns names (daemon.StatsDecoder).
type RawAnswer struct {
	ID    uint64
	Error string
	Stats []byte // valid as long as the frame's bytes
	// Names is the number of stat names in Stats (before any duplicate
	// or invalid one is dropped), for a quota checked before decoding.
	Names int
}

// DecodeAnswer decodes a frame's payload that is an Answer. ok is false
// (and err nil) if it is another kind of message: Decode it then. A
// malformed message is an error, as with Decode.
func DecodeAnswer(b []byte) (a RawAnswer, ok bool, err error) {
	var body []byte
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return a, false, errMalformed
		}
		b = b[n:]
		if num >= 1 && num <= 5 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return a, false, errMalformed
			}
			if num != 5 {
				return a, false, nil // another kind: the last body wins, leave it to Decode
			}
			if body != nil {
				return a, false, nil // given twice: merged by Decode
			}
			body = v
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return a, false, errMalformed
		}
		b = b[n:]
	}
	if body == nil {
		return a, false, nil
	}
	for b := body; len(b) > 0; {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return a, false, errMalformed
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return a, false, errMalformed
			}
			a.ID = v
			b = b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return a, false, errMalformed
			}
			if a.Stats != nil {
				return a, false, nil // given twice: merged by Decode
			}
			a.Stats = v
			b = b[n:]
		case num == 3 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return a, false, errMalformed
			}
			if !utf8.Valid(v) {
				return a, false, fmt.Errorf("decoding message: answer's error is not valid UTF-8: %w", errMalformed)
			}
			a.Error = string(v)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return a, false, errMalformed
			}
			b = b[n:]
		}
	}
	if a.Stats == nil {
		a.Stats = []byte{}
	}
	a.Names, err = countNames(a.Stats)
	return a, err == nil, err
}

// countNames counts the names of an encoded proto.Stats (fields 1, 3, 5
// and 7: counter, integer, float and null names).
func countNames(b []byte) (int, error) {
	count := 0
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return 0, errMalformed
		}
		b = b[n:]
		if (num == 1 || num == 3 || num == 5 || num == 7) && typ == protowire.BytesType {
			count++
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return 0, errMalformed
		}
		b = b[n:]
	}
	return count, nil
}

var errMalformed = errors.New("decoding message: truncated or malformed protobuf")

// consumeTag is protowire.ConsumeTag, also refusing field numbers above
// the largest valid one, as the proto decoder does.
func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n >= 0 && num > protowire.MaxValidNumber {
		return 0, 0, -1
	}
	return num, typ, n
}
