package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestWriteDiagnosticsWithoutPlace checks the diagnostics about no place in
// a file: a file that cannot be read says why, and no "<nil>:" appears.
func TestWriteDiagnosticsWithoutPlace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "dir.hcl")
	if err := os.Mkdir(unreadable, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		diag func(p *Parser) hcl.Diagnostics
		want string
	}{
		{"missing file", func(p *Parser) hcl.Diagnostics {
			_, d := p.ParseFile("host.hcl")
			return d
		}, "error: cannot read host.hcl: no such file or directory\n"},
		{"a directory", func(p *Parser) hcl.Diagnostics {
			_, d := p.ParseFile(unreadable)
			return d
		}, "error: cannot read " + unreadable + ": is a directory\n"},
		{"missing host file", func(p *Parser) hcl.Diagnostics {
			_, d := LoadHost(p, filepath.Join(dir, "host.hcl"))
			return d
		}, "error: cannot read " + filepath.Join(dir, "host.hcl") + ": no such file or directory\n"},
		{"missing gatherer file", func(p *Parser) hcl.Diagnostics {
			_, d := LoadGatherer(p, filepath.Join(dir, "gatherer.hcl"))
			return d
		}, "error: cannot read " + filepath.Join(dir, "gatherer.hcl") + ": no such file or directory\n"},
		{"summary and detail", func(*Parser) hcl.Diagnostics {
			return hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Conflicting base directories", Detail: "give one of them."}}
		}, "warning: Conflicting base directories; give one of them.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := NewParser()
			var b bytes.Buffer
			if err := p.WriteDiagnostics(&b, tt.diag(p)); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("diagnostics = %q, want %q", b.String(), tt.want)
			}
		})
	}
}

// TestDiagnosticsHideFurlSecret: the source line under a diagnostic never
// shows an inline furl's secret (a daemon writes diagnostics to its log).
func TestDiagnosticsHideFurlSecret(t *testing.T) {
	t.Parallel()
	const secret = "mhrqhg2lnz2r4po3cfcrkg3zstcxddxs"
	src := "nickname = \"a\"\ngatherer { furl = \"pb://siyqwv37d4fatkru4c66c6xdhna2unxv24zbstr7uugezispr@127.0.0.1:41279/" + secret + "\" }\n"
	path := filepath.Join(t.TempDir(), "host.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p := NewParser()
	_, diags := LoadHost(p, path)
	if !diags.HasErrors() {
		t.Fatal("a furl with a short fingerprint loaded")
	}
	var b bytes.Buffer
	p.WriteDiagnostics(&b, diags)
	out := b.String()
	if strings.Contains(out, secret) || !strings.Contains(out, "127.0.0.1:41279/"+strings.Repeat("*", len(secret))) {
		t.Errorf("diagnostics show the furl's secret, or no masked furl:\n%s", out)
	}
}

// TestParseFileBounds (issue 25, item 8): a file over MaxFileSize or not
// regular is one diagnostic; a file of garbage keeps at most
// MaxDiagnostics (and one line saying how many more).
func TestParseFileBounds(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.hcl")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# comment\n"), MaxFileSize/10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, diags := NewParser().ParseFile(big); len(diags) != 1 || !strings.Contains(diags[0].Summary, "over") {
		t.Errorf("big file: %v", diags)
	}
	if _, diags := NewParser().ParseFile("/dev/zero"); len(diags) != 1 || !strings.Contains(diags[0].Summary, "not a regular file") {
		t.Errorf("/dev/zero: %v", diags)
	}
	junk := filepath.Join(dir, "junk.hcl")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("\x01 = = {\n"), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, diags := NewParser().ParseFile(junk); len(diags) > MaxDiagnostics+1 || len(diags) == 0 {
		t.Errorf("junk: %d diagnostics", len(diags))
	}
}
