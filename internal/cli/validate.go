package cli

import (
	"context"
	"io"
)

func runValidate(_ context.Context, _ []string, _, stderr io.Writer) int {
	io.WriteString(stderr, "statsherd validate: not built yet\n")
	return 1
}
