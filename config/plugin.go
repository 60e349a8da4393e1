package config

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/statsherd/statsherd/sdk"
)

// PluginBlock is one `producer "NAME" { ... }` or `output "NAME" { ... }`
// block. The daemon's own attributes (plugin, sha256, timeout) are taken out;
// the rest of the body belongs to the plugin and is decoded against the
// schema it declares (Decode).
type PluginBlock struct {
	Kind string // sdk.KindProducer or sdk.KindOutput
	Name string // the block label
	// Plugin is the path of the plugin executable; "" means the built-in
	// plugin of that name.
	Plugin string
	// SHA256 pins the plugin executable (hex), or is nil.
	SHA256 []byte
	// Timeout bounds each call to the plugin; 0 means the daemon's default.
	Timeout time.Duration
	// Body is what is left for the plugin.
	Body hcl.Body
	// DefRange is where the block is defined, for diagnostics.
	DefRange hcl.Range
}

var pluginBlockSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "plugin"}, {Name: "sha256"}, {Name: "timeout"},
}}

// NewPluginBlock takes the daemon's attributes out of body.
func NewPluginBlock(kind, name string, body hcl.Body, defRange hcl.Range) (PluginBlock, hcl.Diagnostics) {
	b := PluginBlock{Kind: kind, Name: name, DefRange: defRange}
	content, rest, diags := body.PartialContent(pluginBlockSchema)
	b.Body = rest
	if sdk.ValidName(name) != nil || strings.Contains(name, ".") {
		diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + kind + " name",
			Detail: fmt.Sprintf("%q is not a valid %s name: use letters, digits, '_' and '-'.", name, kind), Subject: defRange.Ptr()})
	}
	if a, ok := content.Attributes["plugin"]; ok {
		d := gohclString(a, &b.Plugin)
		diags = append(diags, d...)
		if !d.HasErrors() && b.Plugin == "" {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty plugin path",
				Detail: "Give the path of the plugin executable, or leave plugin out to use the built-in " + kind + ".", Subject: a.Expr.Range().Ptr()})
		}
	}
	if a, ok := content.Attributes["sha256"]; ok {
		var s string
		d := gohclString(a, &s)
		diags = append(diags, d...)
		if !d.HasErrors() {
			sum, err := hex.DecodeString(s)
			if err != nil || len(sum) != 32 {
				diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid sha256",
					Detail: fmt.Sprintf("%q is not a sha256 sum: want 64 hex digits, as printed by sha256sum.", s), Subject: a.Expr.Range().Ptr()})
			}
			b.SHA256 = sum
		}
	}
	if a, ok := content.Attributes["timeout"]; ok {
		var d hcl.Diagnostics
		b.Timeout, d = DurationAttr(a)
		diags = append(diags, d...)
	}
	return b, diags
}

// attrValue evaluates a, converted to ty, with a clear error ("NAME must
// be WANT.") for another type.
func attrValue(a *hcl.Attribute, ty cty.Type, want string) (cty.Value, hcl.Diagnostics) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return v, diags
	}
	v, err := convert.Convert(v, ty)
	if err != nil || v.IsNull() {
		return v, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail: fmt.Sprintf("%s must be %s.", a.Name, want), Subject: a.Expr.Range().Ptr()}}
	}
	return v, nil
}

// gohclBool decodes a bool attribute.
func gohclBool(a *hcl.Attribute, dst *bool) hcl.Diagnostics {
	v, diags := attrValue(a, cty.Bool, "true or false")
	if diags.HasErrors() {
		return diags
	}
	*dst = v.True()
	return nil
}

func gohclString(a *hcl.Attribute, dst *string) hcl.Diagnostics {
	v, diags := attrValue(a, cty.String, "a string")
	if diags.HasErrors() {
		return diags
	}
	*dst = v.AsString()
	return nil
}

// DurationAttr decodes a duration attribute written as a string ("90s").
func DurationAttr(a *hcl.Attribute) (time.Duration, hcl.Diagnostics) {
	var s string
	if diags := gohclString(a, &s); diags.HasErrors() {
		return 0, diags
	}
	return parseDuration(s, a.Expr.Range())
}

func parseDuration(s string, rng hcl.Range) (time.Duration, hcl.Diagnostics) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid duration",
			Detail: fmt.Sprintf("%q is not a duration; write a number and a unit, such as \"90s\", \"5m\" or \"48h\".", s), Subject: rng.Ptr()}}
	}
	return d, nil
}

func ctyType(t sdk.AttrType) cty.Type {
	switch t {
	case sdk.Number:
		return cty.Number
	case sdk.Bool:
		return cty.Bool
	case sdk.ListOfString:
		return cty.List(cty.String)
	case sdk.MapOfString:
		return cty.Map(cty.String)
	}
	return cty.String // String and Duration
}

// Decode decodes the plugin's part of the block against the schema the
// plugin declared, fills in defaults, and returns it as the JSON object the
// plugin's Configure receives. Unknown attributes, wrong types, missing
// required attributes and bad durations are diagnostics with a range.
func (b PluginBlock) Decode(schema sdk.Schema) (sdk.Config, hcl.Diagnostics) {
	// NewPluginBlock took the daemon's attributes out of the body: a
	// plugin declaring one of them would never receive it.
	for _, a := range schema {
		for _, own := range pluginBlockSchema.Attributes {
			if own.Name != a.Name {
				continue
			}
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Plugin declares a reserved attribute",
				Detail:  fmt.Sprintf("The %s %q declares the attribute %q, which the daemon keeps for itself (plugin, sha256, timeout): the plugin must give it another name.", b.Kind, b.Name, a.Name),
				Subject: b.DefRange.Ptr()}}
		}
	}
	spec := hcldec.ObjectSpec{}
	for _, a := range schema {
		spec[a.Name] = &hcldec.AttrSpec{Name: a.Name, Type: ctyType(a.Type), Required: a.Required}
	}
	val, diags := hcldec.Decode(b.Body, spec, nil)
	if diags.HasErrors() {
		return nil, diags
	}
	out := make(map[string]any, len(schema))
	for _, a := range schema {
		v := val.GetAttr(a.Name)
		if v.IsNull() {
			if a.Default != nil {
				out[a.Name] = a.Default
			}
			continue
		}
		rng := hcldec.SourceRange(b.Body, spec[a.Name])
		switch a.Type {
		case sdk.Duration:
			d, dd := parseDuration(v.AsString(), rng)
			diags = append(diags, dd...)
			out[a.Name] = d
		case sdk.Number:
			out[a.Name] = numberValue(v.AsBigFloat())
		case sdk.Bool:
			out[a.Name] = v.True()
		case sdk.ListOfString:
			l := []string{}
			for _, e := range v.AsValueSlice() {
				l = append(l, e.AsString())
			}
			out[a.Name] = l
		case sdk.MapOfString:
			m := map[string]string{}
			for k, e := range v.AsValueMap() {
				m[k] = e.AsString()
			}
			out[a.Name] = m
		default:
			out[a.Name] = v.AsString()
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	js, err := json.Marshal(out)
	if err != nil {
		return nil, diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot encode plugin config",
			Detail: err.Error(), Subject: b.DefRange.Ptr()})
	}
	return js, diags
}

func numberValue(f *big.Float) any {
	if f.IsInt() {
		if i, acc := f.Int64(); acc == big.Exact {
			return i
		}
	}
	x, _ := f.Float64()
	return x
}
