package graphite

import (
	"errors"
	"fmt"
	"strings"
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

// Label is one label of a stat: a name and a value. Stats carry none yet
// (issue 19 adds them to the sdk); the encoder takes each stat's labels,
// sorted by name, and writes them as the labels setting says.
type Label struct{ Name, Value string }

// appendPath appends the series name of a stat: pre, the stat's name
// (its dots are path separators; stat names hold only [A-Za-z0-9_.-]),
// post, then the labels: as Graphite 1.1 tags (;name=value, sorted by
// name, as carbon keeps them), or folded into the path (.value, in the
// order of the names).
func (t *template) appendPath(b []byte, pre, name, post string, labels []Label) []byte {
	b = append(b, pre...)
	b = append(b, name...)
	b = append(b, post...)
	for _, l := range labels {
		if t.labelsPath {
			b = append(b, '.')
			b = appendComponent(b, l.Value)
			continue
		}
		b = append(b, ';')
		b = appendComponent(b, l.Name)
		b = append(b, '=')
		b = appendComponent(b, l.Value)
	}
	return b
}

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
