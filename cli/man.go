package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/statsherd/statsherd/internal/version"
)

// writeManPages writes a man page (section 1) for every command of the
// tree into dir: statsherd.1, statsherd-host.1, statsherd-host-id.1, …
// Each page is the command's own help (what -h prints), so the pages
// cannot drift from the binary; `make install` runs this.
func writeManPages(ctx context.Context, dir string) error {
	root := commands()
	var walk func(c *command, names []string) error
	walk = func(c *command, names []string) error {
		var help bytes.Buffer
		root.dispatch(ctx, "statsherd", append(append([]string(nil), names[1:]...), "-h"), &help, io.Discard)
		page := manPage(strings.Join(names, "-"), c.summaryLine(), help.String(), c.subs, names)
		if err := os.WriteFile(filepath.Join(dir, strings.Join(names, "-")+".1"), []byte(page), 0o644); err != nil {
			return fmt.Errorf("writing man page: %w", err)
		}
		for _, s := range c.subs {
			if err := walk(s, append(append([]string(nil), names...), s.name)); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, []string{"statsherd"})
}

// summaryLine is the one line of NAME: the summary, else the help's first
// sentence.
func (c *command) summaryLine() string {
	if c.summary != "" {
		return c.summary
	}
	h := strings.Join(strings.Fields(c.help), " ")
	if i := strings.Index(h, ". "); i >= 0 {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// manPage is a roff page: NAME, SYNOPSIS and DESCRIPTION from the help
// text, kept as written (no filling), SEE ALSO the parent and subcommands.
func manPage(name, summary, help string, subs []*command, names []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"%s\" \"statsherd manual\"\n", strings.ToUpper(roff(name)), roff(version.Release()))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(name), roff(summary))
	var synopsis, rest []string
	lines := strings.Split(strings.TrimRight(help, "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "usage: ") || strings.HasPrefix(l, "   or: ") {
			synopsis = append(synopsis, strings.TrimSpace(l[len("usage: "):]))
			continue
		}
		rest = lines[i:]
		break
	}
	b.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, l := range synopsis {
		b.WriteString(roffLine(l))
	}
	b.WriteString(".fi\n.SH DESCRIPTION\n.nf\n")
	for _, l := range rest {
		b.WriteString(roffLine(l))
	}
	b.WriteString(".fi\n")
	var see []string
	if len(names) > 1 {
		see = append(see, strings.Join(names[:len(names)-1], "-"))
	}
	for _, s := range subs {
		see = append(see, strings.Join(append(append([]string(nil), names...), s.name), "-"))
	}
	if len(see) > 0 {
		b.WriteString(".SH SEE ALSO\n")
		for i, s := range see {
			sep := ","
			if i == len(see)-1 {
				sep = ""
			}
			fmt.Fprintf(&b, ".BR %s (1)%s\n", roff(s), sep)
		}
	}
	return b.String()
}

// roff escapes text for roff: backslashes, and hyphens as minus signs
// (options must print as ASCII '-').
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffLine is one line of no-fill text: a line starting with a dot or an
// apostrophe would be a request, so it gets a zero-width escape first; an
// empty line stays a blank line.
func roffLine(l string) string {
	l = roff(l)
	if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
		l = `\&` + l
	}
	return l + "\n"
}
