// Package cli is the statsherd command line: a function of arguments and
// writers, so tests call it directly.
package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"host", "run the per-node host daemon (stats provider)", runHost},
		{"gatherer", "run the gatherer daemon", runGatherer},
		{"create-gatherer", "create a gatherer base directory and print its furl", runCreateGatherer},
		{"validate", "check a host or gatherer HCL file, plugins included", runValidate},
		{"plugin", "describe or serve the built-in plugins", runPlugin},
		{"version", "print the version", runVersion},
	}
}

// Run runs statsherd with args (without the program name) and returns the
// process exit code: 0 success, 1 failure, 2 usage error.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "statsherd: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: statsherd COMMAND [ARGS]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-16s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'statsherd COMMAND -h' for a command's flags.\n")
	io.WriteString(w, b.String())
}
