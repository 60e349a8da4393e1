package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// walk calls f with the name path (without "statsherd") of every command
// and subcommand in the tree, the root included.
func walk(c *command, path []string, f func(path []string, c *command)) {
	f(path, c)
	for _, s := range c.subs {
		walk(s, append(append([]string(nil), path...), s.name), f)
	}
}

func run(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestEveryCommandHasHelp checks -h, -help, --help and 'statsherd help
// PATH' on every command and subcommand of the tree: exit 0, the usage on
// stdout, nothing on stderr. A command added to the tree whose run does
// not parse its flags first fails here.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	n := 0
	walk(commands(), nil, func(path []string, c *command) {
		n++
		name := strings.TrimSpace("statsherd " + strings.Join(path, " "))
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if len(path) > 0 && c.summary == "" {
				t.Errorf("%s has no summary for its parent's list", name)
			}
			if strings.TrimSpace(c.help) == "" {
				t.Errorf("%s has no help text", name)
			}
			var first string
			for _, h := range []string{"-h", "-help", "--help"} {
				out, errOut, code := run(append(append([]string(nil), path...), h)...)
				if code != 0 || errOut != "" {
					t.Errorf("%s %s: exit %d, stderr %q; want exit 0 and nothing on stderr", name, h, code, errOut)
				}
				if !strings.HasPrefix(out, "usage: "+name) {
					t.Errorf("%s %s: stdout does not start with %q:\n%s", name, h, "usage: "+name, out)
				}
				for _, s := range c.subs {
					if !strings.Contains(out, "  "+s.name+"  ") {
						t.Errorf("%s %s does not list its command %s:\n%s", name, h, s.name, out)
					}
				}
				if first == "" {
					first = out
				} else if out != first {
					t.Errorf("%s %s differs from %s -h:\n%s\nwant:\n%s", name, h, name, out, first)
				}
			}
			out, errOut, code := run(append([]string{"help"}, path...)...)
			if code != 0 || errOut != "" || out != first {
				t.Errorf("statsherd help %s: exit %d, stderr %q, stdout:\n%s\nwant exit 0 and %s -h's:\n%s",
					strings.Join(path, " "), code, errOut, out, name, first)
			}
		})
	})
	if n < 9 {
		t.Errorf("the tree has %d commands; want at least the 9 statsherd had when this test was written", n)
	}
}

// TestEveryCommandRefusesSurplusArguments gives every command its
// positional arguments and one more: exit 2, saying which, before doing
// anything.
func TestEveryCommandRefusesSurplusArguments(t *testing.T) {
	t.Parallel()
	walk(commands(), nil, func(path []string, c *command) {
		name := strings.TrimSpace("statsherd " + strings.Join(path, " "))
		lo, hi := c.argRange()
		if hi < 0 {
			return // takes any number
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := append([]string(nil), path...)
			for i := 0; i < max(lo, hi); i++ {
				args = append(args, "arg"+string(rune('a'+i)))
			}
			args = append(args, "surplus")
			out, errOut, code := run(args...)
			want := `unexpected argument "surplus"`
			if c.run == nil {
				want = `unknown command "surplus"`
			}
			if code != 2 || out != "" || !strings.HasPrefix(errOut, name+": "+want) {
				t.Errorf("statsherd %s: exit %d, stdout %q, stderr %q; want exit 2 and %q",
					strings.Join(args, " "), code, out, errOut, name+": "+want)
			}
			if !strings.Contains(errOut, "usage: "+name) {
				t.Errorf("statsherd %s: stderr lacks the usage line:\n%s", strings.Join(args, " "), errOut)
			}
		})
	})
}

func TestUsageMistakes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		want string // start of stderr
	}{
		{"no command", nil, 2, "usage: statsherd COMMAND [ARGS]"},
		{"unknown command", []string{"frobnicate"}, 2, `statsherd: unknown command "frobnicate"`},
		{"unknown subcommand", []string{"plugin", "frob"}, 2, `statsherd plugin: unknown command "frob"`},
		{"group without subcommand", []string{"plugin"}, 2, "usage: statsherd plugin COMMAND [ARGS]"},
		{"help of no command", []string{"help", "nope"}, 2, `statsherd help: no command "statsherd nope"`},
		{"help of no subcommand", []string{"help", "host", "nope"}, 2, `statsherd help: no command "statsherd host nope"`},
		{"two surplus", []string{"version", "a", "b"}, 2, `statsherd version: unexpected arguments ["a" "b"]`},
		{"missing argument", []string{"create-gatherer"}, 2, "statsherd create-gatherer: missing DIR"},
		{"shared serve by hand", []string{"plugin", "serve", "producer"}, 1, "statsherd plugin serve: this is a statsherd plugin"},
		{"unknown flag", []string{"validate", "-colour", "x.hcl"}, 2, "statsherd validate: flag provided but not defined: -colour"},
		{"bad flag value", []string{"create-gatherer", "-port", "x", "d"}, 2, `statsherd create-gatherer: invalid value "x" for flag -port`},
		{"port out of range", []string{"create-gatherer", "-port", "70000", "d"}, 2, "statsherd create-gatherer: -port 70000 is not a port number"},
		{"flags after DIR", []string{"create-gatherer", "d", "-port", "70000"}, 2, "statsherd create-gatherer: -port 70000 is not a port number"},
		{"after --, a flag is an argument", []string{"validate", "--", "a.hcl", "-h"}, 2, `statsherd validate: unexpected argument "-h"`},
		{"gatherer without a place", []string{"gatherer"}, 2, "statsherd gatherer: give -basedir DIR or -config FILE"},
		{"bad kind", []string{"plugin", "serve", "thing", "x"}, 2, `statsherd plugin serve: KIND is producer or output, not "thing"`},
		{"validate kind", []string{"validate", "-kind", "thing", "x.hcl"}, 2, `statsherd validate: -kind must be host or gatherer, not "thing"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := run(tt.args...)
			if code != tt.code || out != "" || !strings.HasPrefix(errOut, tt.want) {
				t.Errorf("statsherd %s: exit %d, stdout %q, stderr:\n%s\nwant exit %d and stderr starting %q",
					strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.want)
			}
		})
	}
}

// TestSubcommandAfterFlags checks that a subcommand named after its
// parent's flags runs, with those flags: "statsherd host -config F id".
func TestSubcommandAfterFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string // starts
	}{
		{"help of the subcommand", []string{"host", "-config", "h.hcl", "id", "-h"}, 0, "usage: statsherd host id", ""},
		{"the subcommand's flags", []string{"host", "-once", "id"}, 2, "", "statsherd host id: flag provided but not defined: -once"},
		{"a flag's value is no subcommand", []string{"host", "-config", "id", "-h"}, 0, "usage: statsherd host [flags]", ""},
		{"only first", []string{"host", "-config", "h.hcl", "x", "id"}, 2, "", `statsherd host: unexpected arguments ["x" "id"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := run(tt.args...)
			if code != tt.code || !strings.HasPrefix(out, tt.stdout) || !strings.HasPrefix(errOut, tt.stderr) ||
				(tt.stdout == "") != (out == "") || (tt.stderr == "") != (errOut == "") {
				t.Errorf("statsherd %s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q…, stderr %q…",
					strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestArgRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args   []string
		lo, hi int
	}{
		{nil, 0, 0},
		{[]string{"DIR"}, 1, 1},
		{[]string{"[FILE]"}, 0, 1},
		{[]string{"KIND", "NAME"}, 2, 2},
		{[]string{"NODE..."}, 1, -1},
		{[]string{"[COMMAND...]"}, 0, -1},
		{[]string{"DIR", "[NODE...]"}, 1, -1},
	}
	for _, tt := range tests {
		lo, hi := (&command{args: tt.args}).argRange()
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("argRange(%q) = %d, %d; want %d, %d", tt.args, lo, hi, tt.lo, tt.hi)
		}
	}
}

// TestVersionFlagAndDidYouMean: --version and -version are 'statsherd
// version'; a mistyped command or flag gets the nearest right one.
func TestVersionFlagAndDidYouMean(t *testing.T) {
	t.Parallel()
	want, _, _ := run("version")
	for _, tt := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"--version", []string{"--version"}, 0, want, ""},
		{"-version", []string{"-version"}, 0, want, ""},
		{"command", []string{"gatherr"}, 2, "", `unknown command "gatherr"; did you mean "gatherer"?`},
		{"subcommand", []string{"plugin", "describ"}, 2, "", `unknown command "describ"; did you mean "describe"?`},
		{"flag", []string{"host", "-confg", "x"}, 2, "", `-confg; did you mean "-config"?`},
		{"far from any", []string{"zzzzzz"}, 2, "", `unknown command "zzzzzz"` + "\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := run(tt.args...)
			if code != tt.code || out != tt.out && tt.out != "" || !strings.Contains(errOut, tt.err) {
				t.Errorf("statsherd %v: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q", tt.args, code, out, errOut, tt.code, tt.out, tt.err)
			}
		})
	}
}

// TestManPages: a page per command, each holding the command's own help.
func TestManPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, errOut, code := run("help", "-man", dir); code != 0 {
		t.Fatalf("help -man: exit %d: %s", code, errOut)
	}
	walk(commands(), nil, func(path []string, c *command) {
		name := strings.Join(append([]string{"statsherd"}, path...), "-")
		b, err := os.ReadFile(filepath.Join(dir, name+".1"))
		if err != nil {
			t.Error(err)
			return
		}
		firstHelpLine := strings.SplitN(strings.TrimSpace(c.help), "\n", 2)[0]
		if !strings.Contains(string(b), roff(firstHelpLine)) || !strings.Contains(string(b), ".SH NAME\n"+roff(name)+" \\- ") {
			t.Errorf("%s.1 lacks the command's help %q:\n%s", name, firstHelpLine, b)
		}
	})
}
