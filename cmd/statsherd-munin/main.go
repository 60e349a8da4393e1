// Command statsherd-munin is the munin plugin that graphs statsherd's
// stats.json snapshot; see munin/README.md.
package main

import (
	"os"
	"runtime/debug"
	"time"

	"github.com/statsherd/statsherd/munin/plugin"
)

func main() {
	// A run lives for milliseconds and holds about the snapshot's size:
	// collect garbage less eagerly than a server would.
	debug.SetGCPercent(400)
	os.Exit(plugin.Run(os.Args, os.Getenv, time.Now(), os.Stdout, os.Stderr))
}
