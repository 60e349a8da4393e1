// Command example-output is a statsherd output plugin written as a third
// party would write one, importing only the sdk: it appends every poll
// round of the gatherer to a file as one line of JSON. Build it, and name
// it in a gatherer's configuration:
//
//	output "jsonl" {
//	  plugin = "/usr/local/lib/statsherd/example-output"
//	  path   = "/var/log/statsherd/rounds.jsonl"
//	}
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

func main() {
	sdk.Serve(sdk.Plugins{Outputs: map[string]func(hclog.Logger) sdk.Output{
		Name: New,
	}})
}
