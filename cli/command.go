package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one statsherd command or subcommand: a node of the tree Run
// dispatches on. Its usage (-h, -help, --help, 'statsherd help PATH'), the
// refusal of surplus arguments and the exit codes all come from here and
// from cmdline.parse, and the tests walk the tree, so a command added to
// commands() gets them by being there.
type command struct {
	name    string
	summary string // one line, in the parent's list of commands
	// args names the positional arguments, in order: "DIR" (required),
	// "[FILE]" (optional), "NODE..." (one or more), "[NODE...]" (any
	// number). Anything more is refused.
	args []string
	help string // what the command does, shown under the usage line
	// run runs the command: it defines its flags on c.fs, calls c.parse,
	// then does its work. nil for a group that only has subcommands.
	run  func(ctx context.Context, c *cmdline) int
	subs []*command
}

// dispatch runs the command (or subcommand) that args name under c, whose
// full name is path ("statsherd gatherer").
func (c *command) dispatch(ctx context.Context, path string, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if s := c.sub(args[0]); s != nil {
			return s.dispatch(ctx, path+" "+s.name, args[1:], stdout, stderr)
		}
	}
	cl := &cmdline{
		ctx:    ctx,
		fs:     flag.NewFlagSet(path, flag.ContinueOnError),
		cmd:    c,
		path:   path,
		argv:   args,
		stdout: stdout,
		stderr: stderr,
	}
	cl.fs.SetOutput(io.Discard) // parse says what went wrong, once
	cl.fs.Usage = func() {}
	if c.run != nil {
		return c.run(ctx, cl)
	}
	// A group: only its subcommands, or its help.
	switch {
	case len(args) == 0:
		cl.writeUsage(stderr)
		return 2
	case isHelp(args[0]):
		cl.writeUsage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "%s: unknown command %q%s\n", path, args[0], didYouMean(args[0], c.subNames()))
	cl.writeUsage(stderr)
	return 2
}

func (c *command) subNames() []string {
	var names []string
	for _, s := range c.subs {
		names = append(names, s.name)
	}
	return names
}

// didYouMean is "; did you mean "x"?" for the name among names closest to
// what was typed (at most two edits away, or one it begins), "" if none is.
func didYouMean(typed string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		d := editDistance(typed, n)
		if len(typed) >= 3 && strings.HasPrefix(n, typed) && d > 1 {
			d = 1
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// sub is c's subcommand named name, nil if none.
func (c *command) sub(name string) *command {
	for _, s := range c.subs {
		if s.name == name {
			return s
		}
	}
	return nil
}

// find returns the command that names (without "statsherd") lead to.
func (c *command) find(names []string) (*command, bool) {
	for _, n := range names {
		if c = c.sub(n); c == nil {
			return nil, false
		}
	}
	return c, true
}

// argRange is how many positional arguments c.args allow (max -1: no
// limit).
func (c *command) argRange() (lo, hi int) {
	for _, a := range c.args {
		optional := strings.HasPrefix(a, "[")
		if !optional {
			lo++
		}
		if strings.HasSuffix(strings.TrimSuffix(a, "]"), "...") {
			return lo, -1
		}
		hi++
	}
	return lo, hi
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// cmdline is one invocation of a command: its flags, its writers and, once
// parsed, its positional arguments.
type cmdline struct {
	ctx            context.Context // for a subcommand named after the flags
	fs             *flag.FlagSet
	cmd            *command
	path           string   // "statsherd gatherer"
	argv           []string // as given, flags included
	pos            []string // the positional arguments, after parse
	stdout, stderr io.Writer
}

// parse parses the flags, which may come before, between or after the
// positional arguments ("--" ends them), and checks the positional
// arguments against the command's args. done says the command is over,
// with exit code: 0 after -h (usage on stdout), 2 after a mistake (said on
// stderr, with the usage line). A subcommand's name after the flags
// ("statsherd host -config F id") runs that subcommand with all the
// arguments but its name.
func (c *cmdline) parse() (code int, done bool) {
	rest := c.argv
	for {
		err := c.fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			c.writeUsage(c.stdout)
			return 0, true
		}
		if err != nil {
			hint := ""
			if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
				var flags []string
				c.fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
				if hint = didYouMean(name, flags); hint != "" {
					hint = strings.Replace(hint, `mean "`, `mean "-`, 1)
				}
			}
			return c.usageError("%v%s", err, hint), true
		}
		after := c.fs.Args()
		if n := len(rest) - len(after); n > 0 && rest[n-1] == "--" {
			c.pos = append(c.pos, after...)
			break
		}
		if len(after) == 0 {
			break
		}
		if len(c.pos) == 0 {
			if sub := c.cmd.sub(after[0]); sub != nil {
				at := len(c.argv) - len(after)
				args := append(append([]string(nil), c.argv[:at]...), c.argv[at+1:]...)
				return sub.dispatch(c.ctx, c.path+" "+sub.name, args, c.stdout, c.stderr), true
			}
		}
		c.pos = append(c.pos, after[0])
		rest = after[1:]
	}
	lo, hi := c.cmd.argRange()
	switch {
	case hi >= 0 && len(c.pos) > hi:
		extra := c.pos[hi:]
		what := fmt.Sprintf("unexpected argument %q", extra[0])
		if len(extra) > 1 {
			what = fmt.Sprintf("unexpected arguments %q", extra)
		}
		if hi == 0 {
			return c.usageError("%s (%s takes no arguments)", what, c.path), true
		}
		return c.usageError("%s (%s takes %s)", what, c.path, strings.Join(c.cmd.args, " ")), true
	case len(c.pos) < lo:
		return c.usageError("missing %s", strings.Join(c.cmd.args[len(c.pos):lo], " ")), true
	}
	return 0, false
}

// arg is the i-th positional argument, "" if there is none.
func (c *cmdline) arg(i int) string {
	if i < len(c.pos) {
		return c.pos[i]
	}
	return ""
}

// usageError says what was wrong on stderr, with the usage line and where
// to find more, and returns exit code 2.
func (c *cmdline) usageError(format string, a ...any) int {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", c.path, fmt.Sprintf(format, a...))
	b.WriteString(c.synopsis())
	fmt.Fprintf(&b, "Run '%s -h' for its help.\n", c.path)
	io.WriteString(c.stderr, b.String())
	return 2
}

// synopsis is the usage line(s) of the command.
func (c *cmdline) synopsis() string {
	var lines []string
	if c.cmd.run != nil {
		l := c.path
		if c.hasFlags() {
			l += " [flags]"
		}
		if len(c.cmd.args) > 0 {
			l += " " + strings.Join(c.cmd.args, " ")
		}
		lines = append(lines, l)
	}
	if len(c.cmd.subs) > 0 {
		lines = append(lines, c.path+" COMMAND [ARGS]")
	}
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			fmt.Fprintf(&b, "usage: %s\n", l)
		} else {
			fmt.Fprintf(&b, "   or: %s\n", l)
		}
	}
	return b.String()
}

func (c *cmdline) hasFlags() bool {
	n := 0
	c.fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// writeUsage writes the command's whole help: usage line, what it does,
// its subcommands and its flags.
func (c *cmdline) writeUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(c.synopsis())
	if h := strings.TrimSpace(c.cmd.help); h != "" {
		fmt.Fprintf(&b, "\n%s\n", h)
	}
	if len(c.cmd.subs) > 0 {
		b.WriteString("\ncommands:\n")
		width := 0
		for _, s := range c.cmd.subs {
			width = max(width, len(s.name))
		}
		for _, s := range c.cmd.subs {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, s.name, s.summary)
		}
		fmt.Fprintf(&b, "\nRun '%s COMMAND -h' for a command's help.\n", c.path)
	}
	if c.hasFlags() {
		b.WriteString("\nflags:\n")
		c.fs.SetOutput(&b)
		c.fs.PrintDefaults()
		c.fs.SetOutput(io.Discard)
	}
	io.WriteString(w, b.String())
}
