package graph

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/statsherd/statsherd/munin/snapshot"

	statname "github.com/statsherd/statsherd/sdk/stat"
)

// An operator's graphs file holds graph blocks:
//
//	graph "myapp_requests" {
//	  stat     = "myapp.requests"   # required
//	  kind     = "counter"          # required: "counter" or "stat"
//	  title    = "My app requests"  # graph_title; default: the graph name
//	  vlabel   = "requests/s"       # graph_vlabel
//	  category = "myapp"            # graph_category; default "statsherd"
//	  info     = "Requests served"  # graph_info
//	  args     = "--base 1000 -l 0" # graph_args
//	  type     = "DERIVE"           # default: DERIVE for a counter, GAUGE for a stat
//	  min      = 0                  # default: 0 for a DERIVE counter
//	  max      = 1000
//	  draw     = "LINE1"            # default LINE1
//	}
var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "graph", LabelNames: []string{"name"}}},
}

var graphSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "stat", Required: true},
		{Name: "kind", Required: true},
		{Name: "title"},
		{Name: "vlabel"},
		{Name: "category"},
		{Name: "info"},
		{Name: "args"},
		{Name: "type"},
		{Name: "min"},
		{Name: "max"},
		{Name: "draw"},
	},
}

// drawRE matches munin's draw styles. It is compiled on first use: every
// plugin run would pay for it at start, and few read an HCL file.
var drawRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(LINE[0-9]*|AREA|STACK|LINESTACK[0-9]*|AREASTACK)$`)
})

// LoadFile reads the operator's graphs file at path into t.
func LoadFile(t *Table, path string) hcl.Diagnostics {
	src, err := os.ReadFile(path)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read graphs file",
			Detail: fmt.Sprintf("%v. The environment variable graphs names this file; fix the path in plugin-conf.d or remove the variable.", err)}}
	}
	return Load(t, src, path)
}

// Load parses an operator's graphs file (src, named filename in messages)
// and adds its graphs to t. Every mistake is a diagnostic with its range.
func Load(t *Table, src []byte, filename string) hcl.Diagnostics {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return diags
	}
	content, d := f.Body.Content(fileSchema)
	diags = append(diags, d...)
	for _, b := range content.Blocks {
		g, d := decodeGraph(b)
		diags = append(diags, d...)
		if g == nil {
			continue
		}
		if err := t.Add(g); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid graph name",
				Detail: err.Error() + ".", Subject: b.LabelRanges[0].Ptr()})
		}
	}
	return diags
}

func decodeGraph(b *hcl.Block) (*Graph, hcl.Diagnostics) {
	content, diags := b.Body.Content(graphSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	name := b.Labels[0]
	str := func(attr string) (string, *hcl.Attribute) {
		a := content.Attributes[attr]
		if a == nil {
			return "", nil
		}
		v, d := exprValue(a, cty.String)
		diags = append(diags, d...)
		if d.HasErrors() {
			return "", a
		}
		s := v.AsString()
		if strings.ContainsAny(s, "\n\r") {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + attr,
				Detail: "A line break would end the munin config line; write it on one line.", Subject: a.Expr.Range().Ptr()})
		}
		return s, a
	}
	num := func(attr string) (string, bool) {
		a := content.Attributes[attr]
		if a == nil {
			return "", false
		}
		v, d := exprValue(a, cty.Number)
		diags = append(diags, d...)
		if d.HasErrors() {
			return "", false
		}
		f, _ := v.AsBigFloat().Float64()
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	invalid := func(a *hcl.Attribute, summary, detail string) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: a.Expr.Range().Ptr()})
	}

	g := &Graph{Name: name, Origin: b.DefRange.String()}
	stat, statAttr := str("stat")
	if err := statname.ValidName(stat); err != nil && statAttr != nil {
		invalid(statAttr, "Invalid stat name", err.Error()+".")
	}
	g.Stat = stat
	kind, kindAttr := str("kind")
	switch kind {
	case "counter":
		g.Category = snapshot.Counters
	case "stat":
		g.Category = snapshot.Stats
	default:
		if kindAttr != nil {
			invalid(kindAttr, "Invalid kind", fmt.Sprintf("kind is %q; it must be \"counter\" (a value that only goes up) or \"stat\" (an instantaneous value).", kind))
		}
	}
	title, _ := str("title")
	if title == "" {
		title = name
	}
	vlabel, _ := str("vlabel")
	category, _ := str("category")
	if category == "" {
		category = "statsherd"
	}
	info, _ := str("info")
	args, _ := str("args")
	g.Header = append(g.Header, "graph_title "+title)
	if vlabel != "" {
		g.Header = append(g.Header, "graph_vlabel "+vlabel)
	}
	g.Header = append(g.Header, "graph_category "+category)
	if info != "" {
		g.Header = append(g.Header, "graph_info "+info)
	}
	if args != "" {
		g.Header = append(g.Header, "graph_args "+args)
	}

	typ, typAttr := str("type")
	switch {
	case typAttr == nil && g.Category == snapshot.Counters:
		typ = "DERIVE"
	case typAttr == nil:
		typ = "GAUGE"
	}
	switch typ {
	case "GAUGE", "DERIVE", "COUNTER", "ABSOLUTE":
	default:
		invalid(typAttr, "Invalid type", fmt.Sprintf("type is %q; munin knows GAUGE, DERIVE, COUNTER and ABSOLUTE. Counters are best drawn as DERIVE with min 0.", typ))
	}
	minV, hasMin := num("min")
	if !hasMin && typ == "DERIVE" && g.Category == snapshot.Counters && content.Attributes["min"] == nil {
		minV, hasMin = "0", true
	}
	maxV, hasMax := num("max")
	draw, drawAttr := str("draw")
	if drawAttr == nil {
		draw = "LINE1"
	} else if !drawRE().MatchString(draw) {
		invalid(drawAttr, "Invalid draw", fmt.Sprintf("draw is %q; munin knows LINE1, LINE2, LINE3, AREA, STACK, LINESTACK1 and AREASTACK.", draw))
	}
	g.Fields = append(g.Fields, "label "+NamePlaceholder)
	if typ != "GAUGE" || typAttr != nil {
		g.Fields = append(g.Fields, "type "+typ)
	}
	if hasMin {
		g.Fields = append(g.Fields, "min "+minV)
	}
	if hasMax {
		g.Fields = append(g.Fields, "max "+maxV)
	}
	g.Fields = append(g.Fields, "draw "+draw)
	if diags.HasErrors() {
		return nil, diags
	}
	return g, diags
}

// exprValue evaluates an attribute (no variables, no functions) as type
// want. (gohcl would do this, but it pulls hclwrite and go-cmp into the
// plugin binary.)
func exprValue(a *hcl.Attribute, want cty.Type) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	bad := func(detail string) hcl.Diagnostics {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + a.Name,
			Detail: detail, Subject: a.Expr.Range().Ptr()})
	}
	if v.IsNull() {
		return cty.NilVal, bad(fmt.Sprintf("%s must not be null.", a.Name))
	}
	cv, err := convert.Convert(v, want)
	if err != nil || !cv.IsWhollyKnown() {
		return cty.NilVal, bad(fmt.Sprintf("%s must be a %s.", a.Name, want.FriendlyName()))
	}
	return cv, diags
}
