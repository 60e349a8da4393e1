package cli

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/statsherd/statsherd/config"
)

// loadGathererBlocks loads a gatherer file and returns its output blocks.
func loadGathererBlocks(p *config.Parser, path string) ([]config.PluginBlock, hcl.Diagnostics) {
	return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Gatherer files cannot be validated yet"}}
}
