package plugin

import (
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Naming is how a node's field name is made from its nickname and id:
// which of the two rules of Tahoe-LAFS's tahoe_stats plugin.
type Naming uint8

const (
	// PerCharacter is the rule of the plugin that read stats.json (Tahoe
	// 1.12, 2016, until the gatherer was dropped): it decoded the JSON and
	// replaced every character outside [a-zA-Z0-9] with '_' ("über" →
	// "_ber"), and took the first 4 characters of the node id. The default.
	PerCharacter Naming = iota
	// PerByte is the rule of the older plugin that read stats.pickle: the
	// nickname was a UTF-8 byte string there, so each byte of a non-ASCII
	// character became one '_' ("über" → "__ber").
	PerByte
)

// ParseNaming reads the field_names setting: "characters" or "bytes".
func ParseNaming(s string) (Naming, error) {
	switch s {
	case "", "characters":
		return PerCharacter, nil
	case "bytes":
		return PerByte, nil
	}
	return 0, fmt.Errorf(`%q is neither "characters" (Tahoe 1.12 and later, stats.json: one '_' per non-ASCII character, the default) nor "bytes" (before 1.12, stats.pickle: one '_' per byte)`, s)
}

// TahoeName is the munin field name Tahoe-LAFS's tahoe_stats plugin gave a
// node: smash_name("%s_%s" % (nickname, tubid[:4])), where smash_name
// replaces every character (PerCharacter) or byte (PerByte) outside
// [a-zA-Z0-9] with '_'.
func TahoeName(nickname, id string, naming Naming) string {
	b := make([]byte, 0, len(nickname)+1+len(id))
	b = smash(b, nickname, naming)
	b = append(b, '_')
	return string(smash(b, prefix(id, 4, naming), naming))
}

// prefix returns the first n characters (PerCharacter) or bytes of s.
func prefix(s string, n int, naming Naming) string {
	if naming == PerByte {
		return s[:min(n, len(s))]
	}
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// smash appends s to b, each character (or byte) outside [a-zA-Z0-9] as '_'.
func smash(b []byte, s string, naming Naming) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isAlnum(c):
			b = append(b, c)
			i++
		case c < utf8.RuneSelf || naming == PerByte:
			b = append(b, '_')
			i++
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			b = append(b, '_')
			i += size
		}
	}
	return b
}

// FieldName is TahoeName made valid for munin: a leading digit, which munin
// 2.0 itself rewrites to '_' when it stores the field ("9lives" → "_lives"),
// is rewritten the same way here, so the RRD files munin already has for a
// Tahoe-named series keep being fed.
func FieldName(nickname, id string, naming Naming) string {
	n := TahoeName(nickname, id, naming)
	if n[0] >= '0' && n[0] <= '9' {
		n = "_" + n[1:]
	}
	return n
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// NodeKey identifies a node for naming.
type NodeKey struct {
	ID, Nickname string
}

// FieldNames gives every node a unique field name, the same for the same
// set of nodes on every run and in every graph. Each node gets its
// FieldName; where several nodes share one, the node with the smallest id
// keeps it, and each other one gets the name plus '_' and the next
// characters (or bytes) of its id (smashed), 4 at a time, until unique,
// then a number. No node ever takes another node's plain FieldName.
func FieldNames(nodes []NodeKey, naming Naming) map[string]string {
	type entry struct {
		id, base string
	}
	es := make([]entry, len(nodes))
	reserved := make(map[string]bool, len(nodes))
	for i, n := range nodes {
		es[i] = entry{n.ID, FieldName(n.Nickname, n.ID, naming)}
		reserved[es[i].base] = true
	}
	slices.SortFunc(es, func(a, b entry) int {
		if a.base != b.base {
			if a.base < b.base {
				return -1
			}
			return 1
		}
		if a.id < b.id {
			return -1
		}
		if a.id > b.id {
			return 1
		}
		return 0
	})
	names := make(map[string]string, len(nodes))
	used := make(map[string]bool, len(nodes))
	for i, e := range es {
		if i > 0 && es[i-1].id == e.id {
			continue // the same node twice
		}
		name := e.base
		if used[name] {
			name = uniqueName(e.base, e.id, naming, used, reserved)
		}
		used[name] = true
		names[e.id] = name
	}
	return names
}

func uniqueName(base, id string, naming Naming, used, reserved map[string]bool) string {
	free := func(n string) bool { return !used[n] && !reserved[n] }
	rest := id[len(prefix(id, 4, naming)):]
	for end := 4; ; end += 4 {
		ext := prefix(rest, end, naming)
		if ext == "" {
			break
		}
		b := append([]byte(base+"_"), smash(nil, ext, naming)...)
		if n := string(b); free(n) {
			return n
		}
		if len(ext) == len(rest) {
			break
		}
	}
	for k := 2; ; k++ {
		if n := base + "_" + strconv.Itoa(k); free(n) {
			return n
		}
	}
}
