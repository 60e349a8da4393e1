package cli

import (
	"context"
	"fmt"

	"github.com/statsherd/statsherd/internal/version"
)

func versionCommand() *command {
	return &command{
		name:    "version",
		summary: "print the version",
		help: `Prints the release version and, for a binary built from a checkout, the
VCS revision it was built from.`,
		run: runVersion,
	}
}

func runVersion(_ context.Context, c *cmdline) int {
	if code, done := c.parse(); done {
		return code
	}
	fmt.Fprintln(c.stdout, version.String())
	return 0
}
