package prometheus

import (
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/sdk"
)

func exampleBlock(t *testing.T, src []byte) config.PluginBlock {
	t.Helper()
	f, diags := config.NewParser().ParseSource(src, "example.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "output", LabelNames: []string{"name"}}}})
	if diags.HasErrors() || len(content.Blocks) != 1 {
		t.Fatalf("want one output block: %v", diags)
	}
	blk := content.Blocks[0]
	b, diags := config.NewPluginBlock(sdk.KindOutput, blk.Labels[0], blk.Body, blk.DefRange)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return b
}
