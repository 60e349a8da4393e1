package config

import (
	"bytes"
	"fmt"
	"io"
	"strings"

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

// WriteDiagnostics writes each diagnostic as one line that tools and people
// can read, "file.hcl:12,3-9: Summary; Detail", followed by the source line
// it points at with the range underlined.
func (p *Parser) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	var b strings.Builder
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		fmt.Fprintf(&b, "%s: %s\n", sev, d.Error())
		if d.Subject != nil {
			b.WriteString(p.snippet(*d.Subject))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// snippet is the source line of rng, indented, with a line of carets under
// the range.
func (p *Parser) snippet(rng hcl.Range) string {
	f := p.p.Files()[rng.Filename]
	if f == nil || rng.Start.Line < 1 {
		return ""
	}
	lines := bytes.Split(f.Bytes, []byte("\n"))
	if rng.Start.Line > len(lines) {
		return ""
	}
	line := strings.ReplaceAll(string(lines[rng.Start.Line-1]), "\t", " ")
	start := min(max(rng.Start.Column-1, 0), len(line))
	end := len(line)
	if rng.End.Line == rng.Start.Line {
		end = min(max(rng.End.Column-1, start+1), len(line)+1)
	}
	return fmt.Sprintf("  %4d | %s\n         %s%s\n", rng.Start.Line, line,
		strings.Repeat(" ", start), strings.Repeat("^", max(end-start, 1)))
}
