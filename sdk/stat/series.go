package stat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// A series is a stat name plus a small set of labels. It travels, and is
// kept in Stats' maps, as one string, its key: the name alone when it has
// no labels (so a label-less stat costs what it always did), else
//
//	name{label="value",other="value"}
//
// labels sorted by name, each once, values escaped as in Prometheus's
// text format (\\, \" and \n). Every series has exactly one key
// (ValidSeries refuses any other spelling), so two keys are the same
// series exactly when they are equal strings.

// Bounds on a series' labels.
const (
	// MaxLabels is the most labels a series may have.
	MaxLabels = 16
	// MaxLabelNameLen is the longest label name accepted.
	MaxLabelNameLen = 128
	// MaxLabelValueLen is the longest label value accepted, in bytes of
	// UTF-8 (before escaping).
	MaxLabelValueLen = 128
)

// Label is one label of a series.
type Label struct {
	Name, Value string
}

// ValidLabelName reports whether name can be a label name: Prometheus's
// syntax [a-zA-Z_][a-zA-Z0-9_]*, at most MaxLabelNameLen bytes, and not
// starting with "__" (reserved by Prometheus).
func ValidLabelName(name string) error {
	if name == "" {
		return errors.New("empty label name")
	}
	if len(name) > MaxLabelNameLen {
		return fmt.Errorf("label name %.40q... is longer than %d bytes", name, MaxLabelNameLen)
	}
	if strings.HasPrefix(name, "__") {
		return fmt.Errorf("label name %q starts with \"__\", which Prometheus reserves", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return fmt.Errorf("label name %q has %q at byte %d; label names are [a-zA-Z_][a-zA-Z0-9_]*", name, c, i)
	}
	return nil
}

// ValidLabelValue reports whether value can be a label value: UTF-8, at
// most MaxLabelValueLen bytes.
func ValidLabelValue(value string) error {
	if len(value) > MaxLabelValueLen {
		return fmt.Errorf("label value %.40q... is longer than %d bytes", value, MaxLabelValueLen)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("label value %q is not UTF-8", value)
	}
	return nil
}

// Series returns the key of the series name with labels (in any order):
// name itself when there are none. It checks the name, every label, that
// no label name is given twice and that there are at most MaxLabels.
func Series(name string, labels ...Label) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	if len(labels) == 0 {
		return name, nil
	}
	if len(labels) > MaxLabels {
		return "", fmt.Errorf("stat %s has %d labels, more than %d", name, len(labels), MaxLabels)
	}
	ls := slices.Clone(labels)
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	for i, l := range ls {
		if err := ValidLabelName(l.Name); err != nil {
			return "", fmt.Errorf("stat %s: %w", name, err)
		}
		if i > 0 && ls[i-1].Name == l.Name {
			return "", fmt.Errorf("stat %s: label %s given twice", name, l.Name)
		}
		if err := ValidLabelValue(l.Value); err != nil {
			return "", fmt.Errorf("stat %s: label %s: %w", name, l.Name, err)
		}
	}
	return appendKey(make([]byte, 0, keyLen(name, ls)), name, ls), nil
}

func keyLen(name string, ls []Label) int {
	n := len(name) + 2
	for _, l := range ls {
		n += len(l.Name) + len(l.Value) + 4
	}
	return n
}

// appendKey writes the key of name with ls, sorted and checked.
func appendKey(b []byte, name string, ls []Label) string {
	b = append(b, name...)
	b = append(b, '{')
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, '=', '"')
		b = AppendEscaped(b, l.Value)
		b = append(b, '"')
	}
	b = append(b, '}')
	return string(b)
}

// AppendEscaped appends v escaped as a label value of Prometheus's text
// format: \ as \\, " as \" and a newline as \n.
func AppendEscaped(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

// HasLabels reports whether key, a series key, has labels.
func HasLabels(key string) bool { return strings.IndexByte(key, '{') >= 0 }

// SeriesName returns the name of the series key.
func SeriesName(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		return key[:i]
	}
	return key
}

// EachLabel calls fn with every label of key, a valid series key, in
// order, values unescaped; it stops when fn returns false.
func EachLabel(key string, fn func(name, value string) bool) {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return
	}
	rest := key[i+1:]
	var buf []byte
	for len(rest) > 1 {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || eq+1 >= len(rest) {
			return
		}
		name := rest[:eq]
		rest = rest[eq+2:] // after ="
		value, n := unescapeValue(rest, &buf)
		if n < 0 {
			return
		}
		rest = rest[n:]
		if !fn(name, value) {
			return
		}
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
		}
	}
}

// Labels returns the labels of key, a valid series key, in order.
func Labels(key string) []Label {
	var ls []Label
	EachLabel(key, func(n, v string) bool {
		ls = append(ls, Label{n, v})
		return true
	})
	return ls
}

// unescapeValue reads a quoted value's body up to and including its
// closing quote: the value and the bytes read; -1 if there is no closing
// quote or a bad escape. The value shares s unless it had escapes.
func unescapeValue(s string, buf *[]byte) (string, int) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			return s[:i], i + 1
		case '\\':
			return unescapeSlow(s, buf)
		}
	}
	return "", -1
}

func unescapeSlow(s string, buf *[]byte) (string, int) {
	b := (*buf)[:0]
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			*buf = b
			return string(b), i + 1
		case '\\':
			if i+1 >= len(s) {
				return "", -1
			}
			i++
			switch s[i] {
			case '\\':
				b = append(b, '\\')
			case '"':
				b = append(b, '"')
			case 'n':
				b = append(b, '\n')
			default:
				return "", -1
			}
		default:
			b = append(b, c)
		}
	}
	return "", -1
}

// ValidSeries reports whether key is a valid series key: a valid name
// (ValidName) alone, or a valid name and 1 to MaxLabels valid labels
// spelt exactly as Series spells them.
func ValidSeries(key string) error {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ValidName(key)
	}
	name := key[:i]
	if err := ValidName(name); err != nil {
		return err
	}
	if key[len(key)-1] != '}' || len(key) == i+2 {
		return fmt.Errorf("series %.80q: labels are not {name=\"value\",…}", key)
	}
	rest := key[i+1 : len(key)-1]
	var buf []byte
	n, prev := 0, ""
	for {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || eq+1 >= len(rest) || rest[eq+1] != '"' {
			return fmt.Errorf("series %.80q: labels are not {name=\"value\",…}", key)
		}
		lname := rest[:eq]
		if err := ValidLabelName(lname); err != nil {
			return fmt.Errorf("series %.80q: %w", key, err)
		}
		if n > 0 && lname <= prev {
			return fmt.Errorf("series %.80q: labels are not sorted by name, each once", key)
		}
		prev = lname
		n++
		if n > MaxLabels {
			return fmt.Errorf("series %.80q has more than %d labels", key, MaxLabels)
		}
		body := rest[eq+2:]
		value, m := unescapeValue(body, &buf)
		if m < 0 {
			return fmt.Errorf("series %.80q: label %s's value is not a quoted, escaped string", key, lname)
		}
		if err := ValidLabelValue(value); err != nil {
			return fmt.Errorf("series %.80q: label %s: %w", key, lname, err)
		}
		if strings.IndexByte(body[:m-1], '\n') >= 0 {
			return fmt.Errorf("series %.80q: label %s's value holds a raw newline", key, lname)
		}
		rest = body[m:]
		if rest == "" {
			return nil
		}
		if rest[0] != ',' || len(rest) == 1 {
			return fmt.Errorf("series %.80q: labels are not {name=\"value\",…}", key)
		}
		rest = rest[1:]
	}
}

// Fold returns the flat name of the series key, for stores that have no
// labels (munin) and peers that predate them: the name with every label
// appended as ".name_value" (".name" for an empty value), sorted as the
// strings "name:value", every byte a name may not hold made '_' — exactly
// how a DogStatsD line's tags have always been folded into its name, so
// such a line keeps its name. The result may be too long to be a valid
// name (ValidName); a key without labels is returned as it is.
func Fold(key string) string {
	if !HasLabels(key) {
		return key
	}
	var tags [MaxLabels]string
	ts := tags[:0]
	EachLabel(key, func(n, v string) bool {
		if v != "" {
			n += ":" + v
		}
		ts = append(ts, n)
		return len(ts) < MaxLabels
	})
	slices.Sort(ts)
	name := SeriesName(key)
	b := make([]byte, 0, len(key))
	b = append(b, name...)
	for _, t := range ts {
		b = append(b, '.')
		for i := 0; i < len(t); i++ {
			switch c := t[i]; {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
				b = append(b, c)
			default:
				b = append(b, '_')
			}
		}
	}
	return string(b)
}
