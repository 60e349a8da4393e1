package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Parser reads HCL files and keeps their source, so diagnostics can be
// printed with the offending line.
type Parser struct{ p *hclparse.Parser }

// NewParser returns a Parser.
func NewParser() *Parser { return &Parser{p: hclparse.NewParser()} }

// MaxFileSize bounds a configuration file read (issue 25: a large
// random file given by mistake, or SIGHUP after a bad deploy, must not
// hold the daemon's memory); MaxDiagnostics bounds the diagnostics kept
// of one file, the rest summed up in one more.
const (
	MaxFileSize    = 1 << 20
	MaxDiagnostics = 50
)

// ParseFile parses the HCL file at path. A file that cannot be read is
// one diagnostic, "cannot read host.hcl: no such file or directory"; so
// is one that is not a regular file or is over MaxFileSize. At most
// MaxDiagnostics are kept.
func (p *Parser) ParseFile(path string) (*hcl.File, hcl.Diagnostics) {
	src, err := readConfigFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("cannot read %s: %v", path, err),
		}}
	}
	f, diags := p.p.ParseHCL(src, path)
	return f, capDiagnostics(diags)
}

// readConfigFile reads a regular file of at most MaxFileSize bytes.
func readConfigFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("over %d bytes: not a configuration file?", MaxFileSize)
	}
	return src, nil
}

// capDiagnostics keeps the first MaxDiagnostics of diags and counts the
// rest in one more.
func capDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) <= MaxDiagnostics {
		return diags
	}
	rest := len(diags) - MaxDiagnostics
	kept := append(hcl.Diagnostics(nil), diags[:MaxDiagnostics]...)
	return append(kept, &hcl.Diagnostic{Severity: hcl.DiagError,
		Summary: fmt.Sprintf("%d more diagnostics not shown", rest)})
}

// ParseSource parses HCL source held in memory, named filename in diagnostics.
func (p *Parser) ParseSource(src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	return p.p.ParseHCL(src, filename)
}

// WriteDiagnostics writes each diagnostic as one line that tools and people
// can read, "file.hcl:12,3-9: Summary; Detail", followed by the source line
// it points at with the range underlined. A diagnostic about no place in a
// file (a file that cannot be read) is "Summary; Detail".
func (p *Parser) WriteDiagnostics(w io.Writer, diags hcl.Diagnostics) error {
	var b strings.Builder
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		if d.Subject == nil {
			fmt.Fprintf(&b, "%s: %s\n", sev, placeless(d))
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", sev, d.Error())
		b.WriteString(p.snippet(*d.Subject))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// placeless is d's text when it has no place in a file: hcl's
// Diagnostic.Error would print the missing place as "<nil>:".
func placeless(d *hcl.Diagnostic) string {
	if d.Detail == "" {
		return d.Summary
	}
	return d.Summary + "; " + d.Detail
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
	line = maskFurlSecrets(line)
	start := min(max(rng.Start.Column-1, 0), len(line))
	end := len(line)
	if rng.End.Line == rng.Start.Line {
		end = min(max(rng.End.Column-1, start+1), len(line)+1)
	}
	return fmt.Sprintf("  %4d | %s\n         %s%s\n", rng.Start.Line, line,
		strings.Repeat(" ", start), strings.Repeat("^", max(end-start, 1)))
}

// furlSecret finds the secret of a furl written inline (pb://…@…/SECRET).
var furlSecret = regexp.MustCompile(`(pb://[^@\s"]*@[^/\s"]*/)([^"\s]+)`)

// maskFurlSecrets stars out the secret of every furl in a source line, so
// that a diagnostic (which a daemon writes to its log) never shows it; the
// line keeps its length, so the carets stay under their range.
func maskFurlSecrets(line string) string {
	return furlSecret.ReplaceAllStringFunc(line, func(m string) string {
		sub := furlSecret.FindStringSubmatch(m)
		return sub[1] + strings.Repeat("*", len(sub[2]))
	})
}
