// Command example-producer is a statsherd producer plugin written as a
// third party would write one, importing only the sdk: it counts the
// files, bytes and lines in a directory. Build it, and name it in a host's
// configuration:
//
//	producer "dir_count" {
//	  plugin = "/usr/local/lib/statsherd/example-producer"
//	  dir    = "/var/spool/uploads"
//	}
package main

import (
	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

func main() {
	sdk.Serve(sdk.Plugins{Producers: map[string]func(hclog.Logger) sdk.Producer{
		Name: New,
	}})
}
