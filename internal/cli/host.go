package cli

import (
	"context"
	"io"
)

// runHost runs the host daemon. (Owned by the host work.)
func runHost(_ context.Context, _ []string, _, stderr io.Writer) int {
	io.WriteString(stderr, "statsherd host: not built yet\n")
	return 1
}
