package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/statsherd/statsherd/sdk/report"
)

// run is the whole program: parse flags, then step the simulated node
// every interval until ctx ends (or -duration passes), reporting each
// step. It returns the exit status.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("tahoe-node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("statsd", report.DefaultAddr, "the statsherd host's statsd listener (UDP host:port)")
	interval := fs.Duration("interval", time.Second, "time between two steps of the simulation")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same node")
	helperDir := fs.String("helper-dir", "", "if set, keep the helper's CHK_incoming and CHK_encoding files in this directory, as a real helper would")
	duration := fs.Duration("duration", 0, "stop after this long (0: run until interrupted)")
	speed := fs.Float64("speed", 1, "simulated seconds per real second: 150 makes each 2 s poll round a 5-minute munin step")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *interval <= 0 || !(*speed > 0 && *speed <= 1e6) {
		fmt.Fprintln(stderr, "tahoe-node: usage: tahoe-node [-statsd ADDR] [-interval D] [-speed X] [-seed N] [-helper-dir DIR] [-duration D]")
		return 2
	}
	c, err := report.Dial(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "tahoe-node: %v\n", err)
		return 1
	}
	defer c.Close()

	n := newNode(rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)))
	if *helperDir != "" {
		d, err := newHelperDirs(*helperDir, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "tahoe-node: %v\n", err)
			return 1
		}
		n.dirs = d
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(stderr, "tahoe-node: reporting to %s every %s (speed %gx, seed %d)\n", *addr, *interval, *speed, *seed)
	// Every name exists from the start, as the counters of a Tahoe node
	// that has done nothing yet.
	if err := n.announce(c); err != nil {
		fmt.Fprintf(stderr, "tahoe-node: %v\n", err)
	}
	t := time.NewTicker(*interval)
	defer t.Stop()
	last, lastErr := time.Now(), ""
	for {
		select {
		case <-ctx.Done():
			if err := c.Flush(); err != nil {
				fmt.Fprintf(stderr, "tahoe-node: %v\n", err)
			}
			return 0
		case now := <-t.C:
			err := n.step(now.Sub(last).Seconds()**speed, c)
			last = now
			// A host that is not (yet) listening is not fatal: report
			// each distinct problem once, and keep going.
			if err != nil && err.Error() != lastErr {
				fmt.Fprintf(stderr, "tahoe-node: %v\n", err)
			}
			lastErr = ""
			if err != nil {
				lastErr = err.Error()
			}
		}
	}
}
