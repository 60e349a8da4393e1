// Package loadgen is the load tool (cmd/statsherd-loadgen): it measures a
// gatherer under load by running N simulated hosts, each with its own key
// and K stats, against a real gatherer process, and prints for each round
// the polling time, the writing time (polls done to every output written),
// the RSS of the gatherer and of its output plugins, each and together,
// their CPU, and, with a prometheus output, one scrape of its /metrics.
// With -attack it runs the attack harness (attack.go) and measures before
// and during. `statsherd-loadgen targets` serves the same simulated hosts
// as Prometheus scrape targets instead (targets.go), so that a scraper
// such as vmagent can be measured doing the gatherer's work.
//
// Reading processes (memory, CPU, children) is Linux's /proc
// (proc_linux.go); elsewhere the figures are left empty.
package loadgen

import (
	"context"
	"io"
)

// Run is the load tool's command line: args without the program name. It
// returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr)
}
