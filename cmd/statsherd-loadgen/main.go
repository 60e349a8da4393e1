// Command statsherd-loadgen measures a gatherer under load: it runs N
// simulated hosts, each with its own key and K stats, against a real
// gatherer process, and prints for each round the polling time, the
// writing time, and the memory and CPU of the gatherer and its plugins
// (internal/loadgen).
//
//	statsherd-loadgen -n 10000 -k 100 -rounds 3
//	statsherd-loadgen -n 19000 -procs 4 -output munin,prometheus
//
// By default it creates a gatherer in a temporary directory and runs it
// (the statsherd binary next to this one, or -statsherd); with -furl it
// uses a running gatherer instead (give -status and -pid to measure it).
// With -procs P it runs the hosts in P processes (itself and P-1 more
// started with -join); -join -furl F -first I runs more hosts from
// another machine or shell.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-plugin"

	"github.com/statsherd/statsherd/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadgen.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	plugin.CleanupClients()
	os.Exit(code)
}
