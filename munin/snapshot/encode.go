package snapshot

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Stat is one named value, for AppendEntry.
type Stat struct {
	Name  string
	Value Value
}

// AppendEntry appends one node entry, `"<id>": {...}`, to b, laid out as
// Python's json.dump writes it (", " and ": " separators). counters and
// stats should be sorted by name so that the file is stable.
func AppendEntry(b []byte, id, nickname string, timestamp float64, counters, stats []Stat) []byte {
	b = AppendString(b, id)
	b = append(b, `: {"timestamp": `...)
	b = appendTimestamp(b, timestamp)
	b = append(b, `, "nickname": `...)
	b = AppendString(b, nickname)
	b = append(b, `, "stats": {"counters": `...)
	b = appendStats(b, counters)
	b = append(b, `, "stats": `...)
	b = appendStats(b, stats)
	return append(b, "}}"...)
}

// AppendNode appends the entry of node n with id to b.
func AppendNode(b []byte, id string, n *Node) []byte {
	return AppendEntry(b, id, n.Nickname, n.Timestamp, Sorted(n.Counters), Sorted(n.Stats))
}

// Sorted returns the values of m sorted by name.
func Sorted(m map[string]Value) []Stat {
	s := make([]Stat, 0, len(m))
	for k, v := range m {
		s = append(s, Stat{k, v})
	}
	SortStats(s)
	return s
}

// SortStats sorts s by name.
func SortStats(s []Stat) {
	slices.SortFunc(s, func(a, b Stat) int { return strings.Compare(a.Name, b.Name) })
}

// Marshal returns the whole snapshot as the munin output writes it: an
// object with one node per line, in node id order.
func Marshal(s Snapshot) []byte {
	ids := make([]string, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b := []byte("{")
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
		b = AppendNode(b, id, s[id])
	}
	return append(b, "\n}\n"...)
}

func appendStats(b []byte, s []Stat) []byte {
	b = append(b, '{')
	for i, st := range s {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = AppendString(b, st.Name)
		b = append(b, ": "...)
		b = st.Value.AppendJSON(b)
	}
	return append(b, '}')
}

// appendTimestamp writes seconds as a float with a decimal point, as
// Python's time.time() serialises.
func appendTimestamp(b []byte, sec float64) []byte {
	return Float(sec).AppendJSON(b)
}

// AppendString appends s as a JSON string. Non-ASCII text is written as
// UTF-8; invalid UTF-8 becomes U+FFFD, as encoding/json does.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x80 && c != '"' && c != '\\' {
			i++
			continue
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			if c < 0x10 {
				b = append(b, '0')
			}
			b = strconv.AppendUint(b, uint64(c), 16)
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
