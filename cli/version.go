package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/statsherd/statsherd/internal/version"
)

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintln(stdout, version.String())
	return 0
}
