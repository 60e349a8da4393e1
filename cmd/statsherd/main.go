// Command statsherd is the statsherd daemon (host and gatherer), its
// built-in plugins, and its tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	plugin.CleanupClients()
	os.Exit(code)
}
