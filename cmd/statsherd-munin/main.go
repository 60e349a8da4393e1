// Command statsherd-munin is the munin plugin that graphs statsherd's
// stats.json snapshot; see munin/README.md.
package main

import (
	"os"
	"time"

	"github.com/statsherd/statsherd/munin/plugin"
)

func main() {
	os.Exit(plugin.Run(os.Args, os.Getenv, time.Now(), os.Stdout, os.Stderr))
}
