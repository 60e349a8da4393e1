// Command statsherd-loadgen measures a gatherer under load: it runs N
// simulated hosts in one process, each with its own key and K stats,
// against a real gatherer process, and prints each round's duration (polls,
// and polls plus outputs written) and the gatherer's memory.
//
//	statsherd-loadgen -n 10000 -k 100 -rounds 3
//
// By default it creates a gatherer in a temporary directory and runs it
// (the statsherd binary next to this one, or -statsherd); with -furl it
// uses a running gatherer instead (give -status and -pid to measure it).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-plugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	plugin.CleanupClients()
	os.Exit(code)
}
