package config

import (
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Parser reads HCL files and keeps their source, so diagnostics can be
// printed with the offending line.
type Parser struct{ p *hclparse.Parser }

// NewParser returns a Parser.
func NewParser() *Parser { return &Parser{p: hclparse.NewParser()} }

// ParseFile parses the HCL file at path.
func (p *Parser) ParseFile(path string) (*hcl.File, hcl.Diagnostics) {
	return p.p.ParseHCLFile(path)
}

// ParseSource parses HCL source held in memory, named filename in diagnostics.
func (p *Parser) ParseSource(src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	return p.p.ParseHCL(src, filename)
}

// WriteDiagnostics writes diags to w, each with the source line it points at.
func (p *Parser) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	return hcl.NewDiagnosticTextWriter(w, p.p.Files(), 100, false).WriteDiagnostics(diags)
}
