// Package cli is the statsherd command line: a function of arguments and
// writers, so tests call it directly. It is the top of the house: it
// imports host, gatherer and munin, and nothing imports it but cmd/.
package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// commands is the tree of statsherd's commands. Add a command here (a
// subcommand in its parent's subs); see command for what it gets.
func commands() *command {
	return &command{
		name: "statsherd",
		help: "statsherd gathers runtime statistics from many nodes into one place.",
		subs: []*command{
			hostCommand(),
			gathererCommand(),
			createGathererCommand(),
			validateCommand(),
			pluginCommand(),
			versionCommand(),
			{name: "help", summary: "show a command's help", args: []string{"[COMMAND...]"},
				help: `Shows the help of a command: 'statsherd help gatherer' is 'statsherd gatherer -h'.
With -man DIR, writes every command's help as a man page into DIR instead
(statsherd.1, statsherd-host.1, ...): make install ships them.`,
				run: runHelp},
		},
	}
}

// Run runs statsherd with args (without the program name) and returns the
// process exit code: 0 success (and -h, -help, --help, help), 1 failure,
// 2 usage error (said on stderr).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	return commands().dispatch(ctx, "statsherd", args, stdout, stderr)
}

// runHelp shows the help of the command its arguments name.
func runHelp(ctx context.Context, c *cmdline) int {
	man := c.fs.String("man", "", "write every command's man page into `DIR`")
	if code, done := c.parse(); done {
		return code
	}
	if *man != "" {
		if len(c.pos) > 0 {
			return c.usageError("-man writes every command's page: no COMMAND with it")
		}
		if err := writeManPages(ctx, *man); err != nil {
			fmt.Fprintf(c.stderr, "statsherd help: %v\n", err)
			return 1
		}
		return 0
	}
	root := commands()
	if _, ok := root.find(c.pos); !ok {
		return c.usageError("no command %q (see 'statsherd help')", "statsherd "+strings.Join(c.pos, " "))
	}
	return root.dispatch(ctx, "statsherd", append(c.pos, "-h"), c.stdout, c.stderr)
}
