package prometheus

import (
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/statsherd/statsherd/outputs/internal/promname"
	"github.com/statsherd/statsherd/sdk/stat"
)

// The exposition is the Prometheus text format, version 0.0.4, written
// byte for byte as Prometheus's client library writes it (expfmt's
// MetricFamilyToText): families sorted by name, each with its HELP and
// TYPE lines, then its series sorted by label values.

// contentType is the text format's media type, as client_golang sends it.
const contentType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

// appendLabels appends a node's label text: `{nickname="…",node="…"} `.
// Label values must be UTF-8: invalid bytes become U+FFFD.
func appendLabels(b []byte, id, nickname string) []byte {
	b = append(b, '{')
	b = append(b, promname.LabelNickname...)
	b = append(b, `="`...)
	b = append(b, labelEscaper.Replace(strings.ToValidUTF8(nickname, "\uFFFD"))...)
	b = append(b, `",`...)
	b = append(b, promname.LabelNode...)
	b = append(b, `="`...)
	b = append(b, labelEscaper.Replace(strings.ToValidUTF8(id, "\uFFFD"))...)
	b = append(b, `"} `...)
	return b
}

// appendSeriesLabels appends the label text of the series key's labels:
// `,name="value"` each, in order; a label with an empty value is none
// (as in Prometheus), and one named node or nickname is renamed
// exported_node or exported_nickname, as Prometheus renames a target's
// labels that clash with its own.
func appendSeriesLabels(b []byte, key string) []byte {
	stat.EachLabel(key, func(name, value string) bool {
		if value == "" {
			return true
		}
		b = append(b, ',')
		if name == promname.LabelNode || name == promname.LabelNickname {
			b = append(b, "exported_"...)
		}
		b = append(b, name...)
		b = append(b, `="`...)
		b = stat.AppendEscaped(b, value)
		b = append(b, '"')
		return true
	})
	return b
}

// appendValue formats a sample value as expfmt does.
func appendValue(b []byte, f float64) []byte {
	switch {
	case f == 1:
		return append(b, '1')
	case f == 0:
		return append(b, '0')
	case f == -1:
		return append(b, "-1"...)
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, +1):
		return append(b, "+Inf"...)
	case math.IsInf(f, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// flushAt is the size at which the exposition's buffer is handed to the
// writer.
const flushAt = 64 << 10

// render writes the exposition of every node, family by family: a cursor
// per node walks its samples, which are sorted by family rank, so one
// pass over the families and nodes finds every sample once. It returns
// the number of bytes and of series written.
func (f *fleet) render(w io.Writer) (bytes, series int, err error) {
	nodes := f.inOrder()
	if f.reorder {
		f.rank()
	}
	cur := make([]int32, len(nodes))
	unused := 0
	defer func() {
		if unused > compactAt && unused > len(f.fams)/2 {
			f.compact()
		}
		if len(f.lblText) > compactAt && len(f.lblText) > 2*series {
			f.compactLabels() // label sets that come and go
		}
	}()
	if cap(f.buf) < flushAt+4096 {
		f.buf = make([]byte, 0, flushAt+4096)
	}
	b := f.buf[:0]
	for _, fi := range f.order {
		fam := &f.fams[fi]
		fam.used = false
		header := false
		for i, n := range nodes {
			for c := cur[i]; int(c) < len(n.samples) && n.samples[c].fam == fi; c = cur[i] {
				cur[i]++
				if !header {
					header = true
					b = append(b, "# HELP "...)
					b = append(b, fam.metric...)
					b = append(b, ' ')
					b = append(b, fam.help...)
					b = append(b, "\n# TYPE "...)
					b = append(b, fam.metric...)
					b = append(b, ' ')
					b = append(b, fam.typ...)
					b = append(b, '\n')
				}
				s := n.samples[c]
				b = append(b, fam.metric...)
				if s.lbl == 0 {
					b = append(b, n.labels...)
				} else {
					b = append(b, n.labels[:len(n.labels)-2]...) // up to "} "
					b = append(b, f.lblText[s.lbl]...)
					b = append(b, "} "...)
				}
				b = appendValue(b, s.v)
				b = append(b, '\n')
				series++
				fam.used = true
				if len(b) >= flushAt {
					bytes += len(b)
					if _, err := w.Write(b); err != nil {
						return bytes, series, err
					}
					b = b[:0]
				}
			}
		}
		if !fam.used {
			unused++
		}
	}
	bytes += len(b)
	_, err = w.Write(b)
	f.buf = b[:0]
	return bytes, series, err
}
