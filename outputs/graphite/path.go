package graphite

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/statsherd/statsherd/sdk/stat"
)

// DefaultTemplate names every series: the prefix statsherd, the node's
// nickname, then the stat's name, whose dots are Graphite's path
// separators (collectd's Prefix, Telegraf's template).
const DefaultTemplate = "statsherd.{nickname}.{name}"

// Placeholders of a template.
const (
	phNickname = "{nickname}"
	phNode     = "{node}"
	phName     = "{name}"
)

// template is a compiled name template: per node, the text before and
// after {name}, with {nickname} and {node} filled in.
type template struct {
	src        string
	pre, post  string // the template around {name}, placeholders not yet filled
	hasNode    bool
	hasNick    bool
	labelsPath bool // labels folded into the path (else Graphite tags)
}

// parseTemplate checks a name template: text of [A-Za-z0-9_-] and dots,
// exactly one {name}, {nickname} or {node} at least once (or every node's
// series would be one), no empty path component.
func parseTemplate(src string) (*template, error) {
	if strings.Count(src, phName) != 1 {
		return nil, fmt.Errorf("template %q must hold {name} exactly once", src)
	}
	t := &template{src: src, hasNick: strings.Contains(src, phNickname), hasNode: strings.Contains(src, phNode)}
	if !t.hasNick && !t.hasNode {
		return nil, fmt.Errorf("template %q names neither {nickname} nor {node}: every node's stats would land in one series", src)
	}
	rest := strings.NewReplacer(phNickname, "n", phNode, "n", phName, "n").Replace(src)
	for _, c := range []byte(rest) {
		if !plainByte(c) && c != '.' {
			return nil, fmt.Errorf("template %q: %q is not allowed; use letters, digits, _ - and dots between the placeholders {nickname}, {node} and {name}", src, c)
		}
	}
	for _, part := range strings.Split(rest, ".") {
		if part == "" {
			return nil, errors.New("template " + fmt.Sprintf("%q", src) + " has an empty path component (two dots in a row, or a dot at either end)")
		}
	}
	i := strings.Index(src, phName)
	t.pre, t.post = src[:i], src[i+len(phName):]
	return t, nil
}

// node returns the template's text before and after {name} for one node.
func (t *template) node(id, nickname string) (pre, post string) {
	r := strings.NewReplacer(phNickname, component(nickname), phNode, component(id))
	return r.Replace(t.pre), r.Replace(t.post)
}

// plainByte reports whether c is kept as it is in a path component or a
// tag: letters, digits, _ and -.
func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// component makes s one path component: every byte that is not a letter,
// a digit, _ or - (a dot, a space, a ;, a UTF-8 byte, …) becomes _; an
// empty s is _.
func component(s string) string {
	if s == "" {
		return "_"
	}
	ok := true
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !plainByte(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

// appendPath appends the series name of a stat, key being its series
// key (sdk/stat: name{label="value",…}): pre, the stat's name (its dots
// are path separators; stat names hold only [A-Za-z0-9_.-]), post, then
// the labels, as the labels setting says (appendTags, appendFolded). A
// key without labels is pre+name+post.
func (t *template) appendPath(b []byte, pre, key, post string) []byte {
	b = append(b, pre...)
	b = append(b, stat.SeriesName(key)...)
	b = append(b, post...)
	if !stat.HasLabels(key) {
		return b
	}
	if t.labelsPath {
		return appendFolded(b, key)
	}
	return appendTags(b, key)
}

// appendFolded appends the label values of key to a path: ".value" for
// each label in the order of the names, made one path component each
// (component: an empty value is _). The names are not written: two series
// differing only in a label's name share a path.
func appendFolded(b []byte, key string) []byte {
	stat.EachLabel(key, func(_, v string) bool {
		b = append(b, '.')
		b = appendComponent(b, v)
		return true
	})
	return b
}

// appendTags appends the labels of key as Graphite 1.1 tags,
// ";name=value" each, in carbon's own order (sorted as the strings
// "name=value", carbon's normal form, which differs from the series
// key's order when a name is a prefix of another), by carbon's rules
// (carbon.util.TaggedSeries): a tag named "name" would be the series'
// name, so it is renamed "exported_name"; a value gets every byte that
// is not printable ASCII (a space, a control character, each byte of a
// non-ASCII character) and every ";" replaced by _, and a leading "~"
// (which seriesByTag reads as a regular expression) too; an empty value is
// _. Label names (sdk: [a-zA-Z_][a-zA-Z0-9_]*) need nothing else.
func appendTags(b []byte, key string) []byte {
	var tags []stat.Label
	stat.EachLabel(key, func(n, v string) bool {
		if n == "name" {
			n = "exported_name"
		}
		tags = append(tags, stat.Label{Name: n, Value: v})
		return true
	})
	slices.SortFunc(tags, func(a, b stat.Label) int { return compareTags(a.Name, b.Name) })
	for _, l := range tags {
		b = append(b, ';')
		b = appendComponent(b, l.Name)
		b = append(b, '=')
		b = appendTagValue(b, l.Value)
	}
	return b
}

// compareTags orders tag names as carbon orders its ";name=value" strings:
// as if each name were followed by "=" (so "a0" comes before "a").
func compareTags(a, b string) int {
	for i := 0; ; i++ {
		ca, cb := byte('='), byte('=')
		if i < len(a) {
			ca = a[i]
		}
		if i < len(b) {
			cb = b[i]
		}
		if ca != cb || i >= len(a) || i >= len(b) {
			return int(ca) - int(cb)
		}
	}
}

// appendTagValue appends v as a Graphite tag value (see appendTags).
func appendTagValue(b []byte, v string) []byte {
	if v == "" {
		return append(b, '_')
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == ';' || i == 0 && c == '~' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendComponent appends s made one path component (component).
func appendComponent(b []byte, s string) []byte {
	if s == "" {
		return append(b, '_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !plainByte(c) {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}
