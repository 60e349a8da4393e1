package statuspage

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Point is one value of a series at a time; a NaN value is a gap.
type Point struct {
	T time.Time
	V float64
}

// Series is one line of a plot.
type Series struct {
	Name   string
	Points []Point
}

// Plot is a small time plot, drawn as inline SVG: no script, nothing
// loaded from elsewhere.
type Plot struct {
	Title string
	Unit  string // appended to the axis labels: "ms", "s", ""
	// From and To bound the time axis; zero: the points' own range.
	From, To time.Time
	Series   []Series
	// Width and Height in CSS pixels; zero: 360×110.
	Width, Height int
}

// colors of the series, in order: distinguishable, also in grey.
var colors = []string{"#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#be185d", "#4b5563"}

// SVG draws the plot. Every text in it is escaped.
func (p Plot) SVG() template.HTML {
	w, h := p.Width, p.Height
	if w <= 0 {
		w = 360
	}
	if h <= 0 {
		h = 110
	}
	const left, right, bottom = 52.0, 8.0, 18.0
	// The legend, under the title, in as many lines as it takes.
	type entry struct {
		x, y  float64
		name  string
		color string
	}
	var legend []entry
	top := 20.0
	if len(p.Series) > 1 {
		x, y := 6.0, 28.0
		for i, s := range p.Series {
			wd := 6.6*float64(len([]rune(s.Name))) + 16
			if x > 6 && x+wd > float64(w)-right {
				x, y = 6, y+12
			}
			legend = append(legend, entry{x, y, s.Name, colors[i%len(colors)]})
			x += wd
		}
		top = y + 6
	}
	h += int(top) - 20 // the plot keeps its height
	pw, ph := float64(w)-left-right, float64(h)-top-bottom
	from, to := p.From, p.To
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range p.Series {
		for _, pt := range s.Points {
			if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				continue
			}
			n++
			lo, hi = min(lo, pt.V), max(hi, pt.V)
			if p.From.IsZero() && (from.IsZero() || pt.T.Before(from)) {
				from = pt.T
			}
			if p.To.IsZero() && pt.T.After(to) {
				to = pt.T
			}
		}
	}
	var b strings.Builder
	b.Grow(512 + 24*n)
	b.WriteString(`<svg class="plot" xmlns="http://www.w3.org/2000/svg" role="img" width="`)
	b.WriteString(strconv.Itoa(w))
	b.WriteString(`" height="`)
	b.WriteString(strconv.Itoa(h))
	b.WriteString(`" viewBox="0 0 `)
	b.WriteString(strconv.Itoa(w) + " " + strconv.Itoa(h))
	b.WriteString(`"><title>`)
	b.WriteString(template.HTMLEscapeString(p.Title))
	b.WriteString(`</title><text class="pt" x="4" y="13">`)
	b.WriteString(template.HTMLEscapeString(p.Title))
	b.WriteString(`</text>`)
	fmt := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	// The frame.
	b.WriteString(`<rect class="pf" x="` + fmt(left) + `" y="` + fmt(top) + `" width="` + fmt(pw) + `" height="` + fmt(ph) + `"/>`)
	if !p.From.IsZero() && n > 0 {
		// A daemon up for less than the plot's span: from its first
		// point on, so the points are not squeezed to the right.
		first := to
		for _, s := range p.Series {
			if len(s.Points) > 0 && s.Points[0].T.Before(first) {
				first = s.Points[0].T
			}
		}
		from = later(from, first)
	}
	if n == 0 {
		b.WriteString(`<text class="pe" x="` + fmt(left+pw/2) + `" y="` + fmt(top+ph/2+4) + `" text-anchor="middle">no data yet</text></svg>`)
		return template.HTML(b.String())
	}
	// Counts and times: the axis starts at zero.
	lo = min(lo, 0)
	if hi == lo {
		hi = lo + 1
	}
	span := to.Sub(from).Seconds()
	if span <= 0 {
		span = 1
		from = from.Add(-time.Second / 2)
	}
	// Axis labels: the top and bottom of the values, the ends of the time.
	label := func(x, y float64, anchor, s string) {
		b.WriteString(`<text class="pa" x="` + fmt(x) + `" y="` + fmt(y) + `" text-anchor="` + anchor + `">` + template.HTMLEscapeString(s) + `</text>`)
	}
	label(left-4, top+8, "end", Num(hi)+p.Unit)
	label(left-4, top+ph, "end", Num(lo)+p.Unit)
	label(left, float64(h)-4, "start", Ago(to.Sub(from))+" ago")
	label(left+pw, float64(h)-4, "end", to.Format("15:04:05"))
	b.WriteString(`<line class="pg" x1="` + fmt(left) + `" x2="` + fmt(left+pw) + `" y1="` + fmt(top+ph/2) + `" y2="` + fmt(top+ph/2) + `"/>`)
	for i, s := range p.Series {
		color := colors[i%len(colors)]
		// The first line is drawn wider, so that a line drawn over it
		// with the same values still shows it.
		width := "1.5"
		if i == 0 && len(p.Series) > 1 {
			width = "3"
		}
		b.WriteString(`<path fill="none" stroke="` + color + `" stroke-width="` + width + `" stroke-linejoin="round" d="`)
		pen := false
		for _, pt := range s.Points {
			if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				pen = false
				continue
			}
			x := left + pw*pt.T.Sub(from).Seconds()/span
			y := top + ph*(1-(pt.V-lo)/(hi-lo))
			if pen {
				b.WriteString("L")
			} else {
				b.WriteString("M")
			}
			b.WriteString(fmt(x) + " " + fmt(y))
			pen = true
		}
		b.WriteString(`"><title>`)
		b.WriteString(template.HTMLEscapeString(s.Name))
		b.WriteString(`</title></path>`)
		if len(s.Points) == 1 && !math.IsNaN(s.Points[0].V) {
			pt := s.Points[0]
			b.WriteString(`<circle r="2.5" fill="` + color + `" cx="` + fmt(left+pw*pt.T.Sub(from).Seconds()/span) + `" cy="` + fmt(top+ph*(1-(pt.V-lo)/(hi-lo))) + `"/>`)
		}
	}
	for _, e := range legend {
		b.WriteString(`<rect x="` + fmt(e.x) + `" y="` + fmt(e.y-7) + `" width="8" height="8" rx="2" fill="` + e.color + `"/>`)
		b.WriteString(`<text class="pl" x="` + fmt(e.x+11) + `" y="` + fmt(e.y) + `">` + template.HTMLEscapeString(e.name) + `</text>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Num formats a value for people: few digits, k and M for large ones.
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case a == 0:
		return "0"
	case a >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 1, 64) + "M"
	case a >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', 0, 64) + "k"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(v, 'f', 1, 64), "0"), ".")
	case a >= 1:
		return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(v, 'f', 2, 64), "0"), ".")
	default:
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
}

// Ago formats a duration for people: "4 s", "12 min", "3 h", "2 d".
func Ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0 s"
	case d < 2*time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s"
	case d < 2*time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	default:
		return strconv.Itoa(int(d.Hours()/24)) + " d"
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
