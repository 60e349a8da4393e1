package host

import (
	"bytes"
	"math"
	"strconv"

	"github.com/statsherd/statsherd/sdk"
)

// metricKind is the type of a statsd line this host accepts.
type metricKind uint8

const (
	kindCounter metricKind = iota + 1 // "c": add to a counter
	kindGauge                         // "g": set (or, signed, change) a stat
)

// dropReason says why a statsd line was dropped.
type dropReason uint8

const (
	dropNone        dropReason = iota
	dropSyntax                 // not name:value|type
	dropType                   // a type other than c and g (timers, sets, ...)
	dropValue                  // not a number, or a negative counter delta
	dropRate                   // a sample rate outside (0, 1]
	dropName                   // not a valid stat name (sdk.ValidName)
	dropTooManyName            // a new name beyond the host's limit
	numDropReasons
)

func (r dropReason) String() string {
	switch r {
	case dropSyntax:
		return "not name:value|type"
	case dropType:
		return "unsupported metric type (only c and g)"
	case dropValue:
		return "bad value"
	case dropRate:
		return "bad sample rate"
	case dropName:
		return "invalid stat name"
	case dropTooManyName:
		return "too many distinct names"
	}
	return "ok"
}

// metric is one parsed statsd line. name aliases the packet buffer.
type metric struct {
	name []byte
	kind metricKind
	// delta is a counter's increment, already scaled by the sample rate.
	delta int64
	// value is a gauge's value; isInt says it was written as an integer
	// (ival holds it); relative says it was signed ("+3", "-2"), which
	// in statsd changes the gauge instead of setting it.
	value    float64
	ival     int64
	isInt    bool
	relative bool
}

// parseLine parses one statsd line: name:value|type[|@rate][|#tags]. It
// checks the name's characters (validName) but not whether the name is
// new. Tags (DogStatsD) are not supported: a tagged line is dropped rather
// than merged into the untagged series.
func parseLine(line []byte) (metric, dropReason) {
	var m metric
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return m, dropSyntax
	}
	m.name = line[:colon]
	rest := line[colon+1:]
	bar := bytes.IndexByte(rest, '|')
	if bar < 0 {
		return m, dropSyntax
	}
	val := rest[:bar]
	rest = rest[bar+1:]
	typ := rest
	var sampling []byte
	if bar = bytes.IndexByte(rest, '|'); bar >= 0 {
		typ = rest[:bar]
		sampling = rest[bar+1:]
	}
	rate := 1.0
	if sampling != nil {
		if len(sampling) < 2 || sampling[0] != '@' || bytes.IndexByte(sampling, '|') >= 0 {
			return m, dropSyntax
		}
		r, err := strconv.ParseFloat(string(sampling[1:]), 64)
		if err != nil || !(r > 0 && r <= 1) {
			return m, dropRate
		}
		rate = r
	}
	switch string(typ) {
	case "c":
		m.kind = kindCounter
		if len(val) == 0 || val[0] == '-' {
			return m, dropValue
		}
		if i, err := strconv.ParseInt(string(val), 10, 64); err == nil && rate == 1 {
			m.delta = i
		} else {
			f, err := strconv.ParseFloat(string(val), 64)
			if err != nil || math.IsNaN(f) || f < 0 {
				return m, dropValue
			}
			scaled := math.Round(f / rate)
			if scaled >= math.MaxInt64 {
				return m, dropValue
			}
			m.delta = int64(scaled)
		}
	case "g":
		m.kind = kindGauge
		if len(val) == 0 {
			return m, dropValue
		}
		m.relative = val[0] == '+' || val[0] == '-'
		f, err := strconv.ParseFloat(string(val), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return m, dropValue
		}
		m.value = f
		if bytes.IndexAny(val, ".eEnN") < 0 {
			if i, err := strconv.ParseInt(string(val), 10, 64); err == nil {
				m.ival, m.isInt = i, true
			}
		}
	case "ms", "h", "s", "d":
		return m, dropType
	default:
		return m, dropSyntax
	}
	if !validName(m.name) {
		return m, dropName
	}
	return m, dropNone
}

// validName is sdk.ValidName on bytes, without allocating.
func validName(name []byte) bool {
	if len(name) == 0 || len(name) > sdk.MaxNameLen {
		return false
	}
	prev := byte('.')
	for _, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.':
			if prev == '.' {
				return false
			}
		default:
			return false
		}
		prev = c
	}
	return prev != '.'
}

// eachLine calls f for every non-empty line of a packet (lines end in \n,
// \r\n, or the end of the packet).
func eachLine(packet []byte, f func([]byte)) {
	for len(packet) > 0 {
		var line []byte
		if i := bytes.IndexByte(packet, '\n'); i >= 0 {
			line, packet = packet[:i], packet[i+1:]
		} else {
			line, packet = packet, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) > 0 {
			f(line)
		}
	}
}
