// Command tahoe-node is the demo node program: it behaves, as far as its
// statistics go, like a Tahoe-LAFS storage server that also runs an upload
// helper and uploads files of its own, and reports what it does to the
// statsherd host on its machine through the host's statsd listener
// (sdk/report), as Tahoe's code called stats_provider.count.
//
//	tahoe-node -statsd 127.0.0.1:8125 -interval 1s -seed 1 -helper-dir /var/lib/tahoe/helper
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
