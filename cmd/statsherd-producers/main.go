// Command statsherd-producers serves the host's built-in producers from one
// process, as `statsherd plugin serve producer` does, in a binary that links
// only the plugin SDK's serving path and the producers: no gatherer, HCL,
// outputs or munin. A host finds it beside its own executable and runs it
// instead of itself, so the process that stays beside it on every node maps
// fewer pages (docs/footprint.md). The host starts it; by hand it refuses.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/statsherd/statsherd/internal/builtin/producerset"
	"github.com/statsherd/statsherd/sdk"
)

func main() {
	// The host runs it with the arguments it gives statsherd itself.
	if strings.Join(os.Args[1:], " ") != "plugin serve "+sdk.KindProducer {
		fmt.Fprintf(os.Stderr, "statsherd-producers serves the built-in producers to the statsherd host, which runs it as 'statsherd-producers plugin serve producer'; 'statsherd plugin describe' shows what it serves\n")
		os.Exit(2)
	}
	if os.Getenv(sdk.Handshake.MagicCookieKey) != sdk.Handshake.MagicCookieValue {
		fmt.Fprintf(os.Stderr, "statsherd-producers: this serves the built-in producers to the statsherd host, which starts it, not by hand; 'statsherd plugin describe' shows what it serves\n")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := producerset.ServeShared(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "statsherd-producers: %v\n", err)
		os.Exit(1)
	}
}
