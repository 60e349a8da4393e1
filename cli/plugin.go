package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/statsherd/statsherd/internal/builtin"
	"github.com/statsherd/statsherd/sdk"
)

const pluginUsage = `usage:
  statsherd plugin describe              print every built-in plugin as JSON
  statsherd plugin serve KIND NAME       serve one built-in plugin (run by the daemon)
`

func runPlugin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, pluginUsage)
		return 2
	}
	switch args[0] {
	case "describe":
		if err := sdk.Describe(ctx, builtin.Plugins(), stdout); err != nil {
			fmt.Fprintf(stderr, "statsherd plugin describe: %v\n", err)
			return 1
		}
		return 0
	case "serve":
		if len(args) != 3 || (args[1] != sdk.KindProducer && args[1] != sdk.KindOutput) {
			io.WriteString(stderr, pluginUsage)
			return 2
		}
		if !builtin.Has(args[1], args[2]) {
			fmt.Fprintf(stderr, "statsherd plugin serve: there is no built-in %s named %q (see 'statsherd plugin describe')\n", args[1], args[2])
			return 1
		}
		if err := sdk.ServeOne(builtin.Plugins(), args[1], args[2]); err != nil {
			fmt.Fprintf(stderr, "statsherd plugin serve: %v\n", err)
			return 1
		}
		return 0
	}
	io.WriteString(stderr, pluginUsage)
	return 2
}
