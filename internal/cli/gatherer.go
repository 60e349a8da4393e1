package cli

import (
	"context"
	"io"
)

// runGatherer runs the gatherer daemon. (Owned by the gatherer work.)
func runGatherer(_ context.Context, _ []string, _, stderr io.Writer) int {
	io.WriteString(stderr, "statsherd gatherer: not built yet\n")
	return 1
}

// runCreateGatherer creates a gatherer base directory. (Owned by the gatherer work.)
func runCreateGatherer(_ context.Context, _ []string, _, stderr io.Writer) int {
	io.WriteString(stderr, "statsherd create-gatherer: not built yet\n")
	return 1
}
