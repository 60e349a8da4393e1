// Command statsherd-loadgen measures a gatherer under load: it runs N
// simulated hosts, each with its own key and K stats, against a real
// gatherer process, and prints for each round the polling time, the
// writing time (polls done to every output written), the RSS of the
// gatherer and of its output plugins, each and together, their CPU, and,
// with a prometheus output, one scrape of its /metrics.
//
//	statsherd-loadgen -n 10000 -k 100 -rounds 3
//	statsherd-loadgen -n 19000 -procs 4 -output munin,prometheus
//
// By default it creates a gatherer in a temporary directory and runs it
// (the statsherd binary next to this one, or -statsherd); with -furl it
// uses a running gatherer instead (give -status and -pid to measure it).
// With -procs P it runs the hosts in P processes (itself and P-1 more
// started with -join), so that the load tool's own CPU, memory and open
// files are not the limit; -join -furl F -first I runs more hosts from
// another machine or shell.
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
