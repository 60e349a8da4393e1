package report_test

import (
	"context"
	"log"

	"github.com/statsherd/statsherd/sdk"
	"github.com/statsherd/statsherd/sdk/report"
)

// Count work as it happens, as Tahoe's stats_provider.count did.
func ExampleClient() {
	c, err := report.Dial("") // the host's default, 127.0.0.1:8125
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Count("storage_server.allocate", 1)
	c.Gauge("storage_server.reserved_space", 1e9)
}

// Register a long-running program as a producer: the host asks it for its
// stats at every poll.
func ExampleRegisterProducer() {
	var p sdk.Producer // the program's producer, configured
	ctx := context.TODO()
	err := report.RegisterProducer(ctx, "/var/lib/statsherd/register.sock", "my_app", p)
	if err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
