// Package producertest holds test helpers shared by the built-in producers'
// tests: decoding a producer's example.hcl exactly as the host does.
package producertest

import (
	"context"
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/sdk"
)

// DecodeExample parses file (an example.hcl holding one or more
// `producer "NAME" { ... }` blocks), checks that each block is labelled
// name, and decodes each against p's schema as the host would. It returns
// the decoded config of every block, in order, and fails the test on any
// diagnostic.
func DecodeExample(t testing.TB, file, name string, p sdk.Producer) []sdk.Config {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	cfgs, diags := Decode(src, file, name, p)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", file, diags.Error())
	}
	if len(cfgs) == 0 {
		t.Fatalf("%s holds no producer %q block", file, name)
	}
	return cfgs
}

// Decode is DecodeExample's worker: it returns diagnostics instead of
// failing, so tests can also check that bad blocks are refused.
func Decode(src []byte, file, name string, p sdk.Producer) ([]sdk.Config, hcl.Diagnostics) {
	f, diags := hclparse.NewParser().ParseHCL(src, file)
	if diags.HasErrors() {
		return nil, diags
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "producer", LabelNames: []string{"name"}},
	}})
	if diags.HasErrors() {
		return nil, diags
	}
	info, err := p.Describe(context.Background())
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Describe failed", Detail: err.Error()}}
	}
	var out []sdk.Config
	seen := map[string]bool{}
	for _, b := range content.Blocks {
		// A host file holds one block of each name, as config.LoadHost says.
		if seen[b.Labels[0]] {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate producer",
				Detail: "a host file holds one producer " + b.Labels[0] + " block", Subject: b.DefRange.Ptr()})
			continue
		}
		seen[b.Labels[0]] = true
		if b.Labels[0] != name {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Wrong producer",
				Detail: "want producer " + name + ", got " + b.Labels[0], Subject: b.DefRange.Ptr()})
			continue
		}
		pb, d := config.NewPluginBlock(sdk.KindProducer, b.Labels[0], b.Body, b.DefRange)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		cfg, d := pb.Decode(info.Config)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out = append(out, cfg)
		}
	}
	return out, diags
}
