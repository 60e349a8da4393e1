package plugin

import (
	"slices"
	"strconv"
)

// TahoeName is the munin field name Tahoe-LAFS's tahoe_stats plugin gave a
// node: smash_name("%s_%s" % (nickname, tubid[:4])), where smash_name
// replaces every character outside [a-zA-Z0-9] with '_'.
//
// Tahoe's nodes sent their nickname to the gatherer UTF-8 encoded
// (nickname.encode("utf-8"), declared `nickname=str` in RIStatsGatherer), the
// gatherer pickled that byte string, and tahoe_stats ran re.sub on bytes: so
// each byte of a non-ASCII character became one '_' ("über" → "__ber"),
// which is also what munin itself does to such a byte. The node id prefix is
// likewise its first 4 bytes.
func TahoeName(nickname, id string) string {
	if len(id) > 4 {
		id = id[:4]
	}
	b := make([]byte, 0, len(nickname)+1+len(id))
	b = append(b, nickname...)
	b = append(b, '_')
	b = append(b, id...)
	for i, c := range b {
		if !isAlnum(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// FieldName is TahoeName made valid for munin: a leading digit, which munin
// 2.0 itself rewrites to '_' when it stores the field ("9lives" → "_lives"),
// is rewritten the same way here, so the RRD files munin already has for a
// Tahoe-named series keep being fed.
func FieldName(nickname, id string) string {
	n := TahoeName(nickname, id)
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
// keeps it, and each other one gets the name plus '_' and the next bytes of
// its id (smashed), 4 at a time, until unique, then a number. No node ever
// takes another node's plain FieldName.
func FieldNames(nodes []NodeKey) map[string]string {
	type entry struct {
		id, base string
	}
	es := make([]entry, len(nodes))
	reserved := make(map[string]bool, len(nodes))
	for i, n := range nodes {
		es[i] = entry{n.ID, FieldName(n.Nickname, n.ID)}
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
			name = uniqueName(e.base, e.id, used, reserved)
		}
		used[name] = true
		names[e.id] = name
	}
	return names
}

func uniqueName(base, id string, used, reserved map[string]bool) string {
	free := func(n string) bool { return !used[n] && !reserved[n] }
	for end := 8; end-4 < len(id); end += 4 {
		ext := id[4:min(end, len(id))]
		b := []byte(base + "_" + ext)
		for i := len(base) + 1; i < len(b); i++ {
			if !isAlnum(b[i]) {
				b[i] = '_'
			}
		}
		if n := string(b); free(n) {
			return n
		}
	}
	for k := 2; ; k++ {
		if n := base + "_" + strconv.Itoa(k); free(n) {
			return n
		}
	}
}
