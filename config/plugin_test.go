package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/sdk"
)

var testSchema = sdk.Schema{
	{Name: "path", Type: sdk.String, Required: true},
	{Name: "count", Type: sdk.Number, Default: 3},
	{Name: "ratio", Type: sdk.Number},
	{Name: "on", Type: sdk.Bool},
	{Name: "every", Type: sdk.Duration, Default: time.Minute},
	{Name: "names", Type: sdk.ListOfString},
	{Name: "labels", Type: sdk.MapOfString},
}

// block parses src, which holds one producer block, into a PluginBlock.
func block(t *testing.T, src string) (PluginBlock, hcl.Diagnostics) {
	t.Helper()
	f, diags := NewParser().ParseSource([]byte(src), "host.hcl")
	if diags.HasErrors() {
		return PluginBlock{}, diags
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "producer", LabelNames: []string{"name"}}}})
	if diags.HasErrors() {
		return PluginBlock{}, diags
	}
	b := content.Blocks[0]
	return NewPluginBlock(sdk.KindProducer, b.Labels[0], b.Body, b.DefRange)
}

func TestDecode(t *testing.T) {
	b, diags := block(t, `producer "disk" {
  plugin  = "/usr/lib/statsherd/disk"
  timeout = "5s"
  sha256  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
  path    = "/srv"
  ratio   = 0.5
  on      = true
  every   = "90s"
  names   = ["a", "b"]
  labels  = { x = "y" }
}`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if b.Plugin != "/usr/lib/statsherd/disk" || b.Timeout != 5*time.Second || len(b.SHA256) != 32 {
		t.Errorf("daemon attributes = %+v", b)
	}
	cfg, diags := b.Decode(testSchema)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var got map[string]any
	if err := json.Unmarshal(cfg, &got); err != nil {
		t.Fatal(err)
	}
	want := `{"count":3,"every":90000000000,"labels":{"x":"y"},"names":["a","b"],"on":true,"path":"/srv","ratio":0.5}`
	if string(cfg) != want {
		t.Errorf("config = %s\n want %s", cfg, want)
	}
	var typed struct {
		Every time.Duration `json:"every"`
		Count int           `json:"count"`
	}
	if err := sdk.Config(cfg).Decode(&typed); err == nil {
		t.Error("Decode into a struct missing fields did not fail")
	}
}

func TestDecodeDiagnostics(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown attribute", "producer \"x\" {\n  path = \"/\"\n  colour = 1\n}", []string{"host.hcl:3,3-9: Unsupported argument", "colour"}},
		{"missing required", "producer \"x\" {\n}", []string{"host.hcl:", "Missing required argument", "path"}},
		{"bad duration", "producer \"x\" {\n  path = \"/\"\n  every = \"6O s\"\n}", []string{"host.hcl:3,11-17: Invalid duration", `"6O s" is not a duration`}},
		{"wrong type", "producer \"x\" {\n  path = \"/\"\n  count = \"many\"\n}", []string{"host.hcl:3,11-17", "number is required"}},
		{"bad daemon timeout", "producer \"x\" {\n  path = \"/\"\n  timeout = \"soon\"\n}", []string{"host.hcl:3,13-19: Invalid duration"}},
		{"bad sha256", "producer \"x\" {\n  path = \"/\"\n  sha256 = \"abc\"\n}", []string{"host.hcl:3,12-17: Invalid sha256"}},
		{"empty plugin", "producer \"x\" {\n  plugin = \"\"\n}", []string{"host.hcl:2,12-14: Empty plugin path"}},
		{"bad name", "producer \"a b\" {\n  path = \"/\"\n}", []string{"host.hcl:1,1-15: Invalid producer name", `"a b" is not a valid producer name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, diags := block(t, tt.src)
			if !diags.HasErrors() {
				_, diags = b.Decode(testSchema)
			}
			if !diags.HasErrors() {
				t.Fatal("no diagnostics")
			}
			for _, w := range tt.want {
				if !strings.Contains(diags.Error(), w) {
					t.Errorf("diagnostics %q lack %q", diags.Error(), w)
				}
			}
		})
	}
}

func FuzzPluginBlock(f *testing.F) {
	f.Add("producer \"x\" {\n  path = \"/\"\n  every = \"1s\"\n  names = [\"a\"]\n}")
	f.Add("producer \"x\" { count = 1e999 }")
	f.Add("producer \"x\" { labels = { a = 1 } \n timeout = \"-1s\" }")
	f.Fuzz(func(t *testing.T, src string) {
		fl, diags := NewParser().ParseSource([]byte(src), "fuzz.hcl")
		if diags.HasErrors() {
			return
		}
		content, diags := fl.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "producer", LabelNames: []string{"name"}}}})
		if diags.HasErrors() {
			return
		}
		for _, blk := range content.Blocks {
			b, diags := NewPluginBlock(sdk.KindProducer, blk.Labels[0], blk.Body, blk.DefRange)
			if diags.HasErrors() {
				continue
			}
			cfg, diags := b.Decode(testSchema)
			if !diags.HasErrors() && !json.Valid(cfg) {
				t.Fatalf("decoded config is not JSON: %s", cfg)
			}
		}
	})
}

// TestDecodeReservedAttribute: a plugin whose schema declares one of the
// daemon's own attributes is refused, since it would never receive it.
func TestDecodeReservedAttribute(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"plugin", "sha256", "timeout"} {
		b, diags := block(t, "producer \"x\" {\n  timeout = \"5s\"\n}")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		_, diags = b.Decode(sdk.Schema{{Name: name, Type: sdk.Duration}})
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "reserved attribute") || !strings.Contains(diags.Error(), `"`+name+`"`) {
			t.Errorf("schema declaring %q: %v", name, diags)
		}
	}
}
