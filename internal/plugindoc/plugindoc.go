// Package plugindoc holds a built-in plugin's documents to its code, for
// the plugins' tests: its example.hcl is decoded exactly as the daemons
// decode a block, and its README must document every attribute of its
// schema and every stat it describes. Producers and outputs alike.
package plugindoc

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/sdk"
)

// Describer is a plugin: sdk.Producer and sdk.Output both are.
type Describer interface {
	Describe(ctx context.Context) (sdk.Info, error)
}

// DecodeExample parses file (an example.hcl holding one or more
// `KIND "NAME" { ... }` blocks, kind sdk.KindProducer or sdk.KindOutput),
// checks that each block is labelled name, and decodes each against p's
// schema as the daemon would. It returns the decoded config of every
// block, in order, and fails the test on any diagnostic.
func DecodeExample(t testing.TB, file, kind, name string, p Describer) []sdk.Config {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	cfgs, diags := Decode(src, file, kind, name, p)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", file, diags.Error())
	}
	if len(cfgs) == 0 {
		t.Fatalf("%s holds no %s %q block", file, kind, name)
	}
	return cfgs
}

// Decode is DecodeExample's worker: it returns diagnostics instead of
// failing, so tests can also check that bad blocks are refused.
func Decode(src []byte, file, kind, name string, p Describer) ([]sdk.Config, hcl.Diagnostics) {
	f, diags := hclparse.NewParser().ParseHCL(src, file)
	if diags.HasErrors() {
		return nil, diags
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: kind, LabelNames: []string{"name"}},
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
		// A daemon's file holds one block of each name (config.LoadHost);
		// a gatherer's outputs likewise.
		if seen[b.Labels[0]] {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate " + kind,
				Detail: "a file holds one " + kind + " " + b.Labels[0] + " block", Subject: b.DefRange.Ptr()})
			continue
		}
		seen[b.Labels[0]] = true
		if b.Labels[0] != name {
			diags = diags.Append(&hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Wrong " + kind,
				Detail: "want " + kind + " " + name + ", got " + b.Labels[0], Subject: b.DefRange.Ptr()})
			continue
		}
		pb, d := config.NewPluginBlock(kind, b.Labels[0], b.Body, b.DefRange)
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

// CheckREADME fails the test unless the plugin's README opens with its
// name, and documents every stat it describes (a table row "`name` |
// kind |") and every attribute of its schema (written "`name` (type, "),
// so that the README cannot fall behind the code.
func CheckREADME(t testing.TB, file string, p Describer) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	for _, problem := range READMEProblems(string(b), p) {
		t.Errorf("%s %s", file, problem)
	}
}

// READMEProblems lists what readme fails to document of p.
func READMEProblems(readme string, p Describer) []string {
	info, err := p.Describe(context.Background())
	if err != nil {
		return []string{"cannot be checked: Describe: " + err.Error()}
	}
	var out []string
	title, _, _ := strings.Cut(readme, "\n")
	if rest, ok := strings.CutPrefix(title, "# "+info.Name); !ok || rest != "" && rest[0] != ' ' && rest[0] != ':' {
		out = append(out, fmt.Sprintf("does not open with the title %q", "# "+info.Name))
	}
	for _, s := range info.Stats {
		if !hasStatRow(readme, s) {
			out = append(out, fmt.Sprintf("has no table row for %s (%s)", s.Name, s.Kind))
		}
	}
	for _, a := range info.Config {
		want := fmt.Sprintf("`%s` (%s, ", a.Name, a.Type)
		if !strings.Contains(readme, want) {
			out = append(out, fmt.Sprintf("does not document attribute %s as %q", a.Name, want))
		}
	}
	return out
}

// hasStatRow reports whether readme has a table row naming the stat (in
// backquotes, alone or among others) with its kind in the next column.
func hasStatRow(readme string, s sdk.StatInfo) bool {
	for _, line := range strings.Split(readme, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(line, "|")
		for i := 1; i+1 < len(cells); i++ {
			if strings.Contains(cells[i], "`"+s.Name+"`") && strings.TrimSpace(cells[i+1]) == string(s.Kind) {
				return true
			}
		}
	}
	return false
}

// Configurable is a plugin that can be configured and closed: an
// sdk.Output or an sdk.Producer.
type Configurable interface {
	Describer
	Configure(ctx context.Context, cfg sdk.Config) error
	Close(ctx context.Context) error
}

// CheckExample holds README.md to p (CheckREADME), decodes its
// example.hcl (DecodeExample) and configures p with the first block, in a
// scratch working directory, as the gatherer's base directory is for the
// relative paths an output keeps (its queue), then closes it. Not for a
// parallel test: it changes the working directory (t.Chdir).
func CheckExample(t *testing.T, kind, name string, p Configurable) {
	t.Helper()
	CheckREADME(t, "README.md", p)
	cfg := DecodeExample(t, "example.hcl", kind, name, p)[0]
	t.Chdir(t.TempDir())
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("example.hcl does not configure: %v", err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Errorf("closing after example.hcl: %v", err)
	}
}
