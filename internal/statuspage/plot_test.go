package statuspage

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPlotSVG(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	pts := func(vs ...float64) []Point {
		out := make([]Point, len(vs))
		for i, v := range vs {
			out[i] = Point{T: t0.Add(time.Duration(i) * time.Minute), V: v}
		}
		return out
	}
	tests := []struct {
		name    string
		plot    Plot
		want    []string
		notWant []string
		moves   int // path segments started
	}{
		{"empty", Plot{Title: "hosts"}, []string{"no data yet", "<title>hosts</title>"}, []string{"<path"}, 0},
		{"escaped", Plot{Title: `<script>"x"`, Series: []Series{{Name: "a&b", Points: pts(1, 2)}, {Name: "<c>", Points: pts(3, 4)}}},
			[]string{"&lt;script&gt;&#34;x&#34;", "a&amp;b", "&lt;c&gt;"}, []string{"<script>"}, 2},
		{"gap", Plot{Title: "t", Series: []Series{{Name: "s", Points: pts(1, math.NaN(), 3, 4)}}}, nil, nil, 2},
		{"one point", Plot{Title: "t", Series: []Series{{Name: "s", Points: pts(5)}}}, []string{"<circle"}, nil, 1},
		{"infinite values are left out", Plot{Title: "t", Series: []Series{{Name: "s", Points: pts(math.Inf(1), 2, 3)}}}, nil, []string{"Inf", "NaN"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svg := string(tt.plot.SVG())
			if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>") {
				t.Fatalf("not an svg element: %s", svg)
			}
			for _, w := range tt.want {
				if !strings.Contains(svg, w) {
					t.Errorf("lacks %q: %s", w, svg)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(svg, w) {
					t.Errorf("contains %q: %s", w, svg)
				}
			}
			moves := 0
			for _, m := range pathData.FindAllStringSubmatch(svg, -1) {
				moves += strings.Count(m[1], "M")
			}
			if moves != tt.moves {
				t.Errorf("%d path segments, want %d: %s", moves, tt.moves, svg)
			}
		})
	}
}

var pathData = regexp.MustCompile(`<path [^>]* d="([^"]*)"`)
