package loadgen

import (
	"testing"
	"time"

	"github.com/statsherd/statsherd/config"
)

// The configuration the load tool writes is one the gatherer loads, with
// the settings it asked for.
func TestGathererHCL(t *testing.T) {
	for _, list := range []string{"munin", "munin,stdout", "none"} {
		blocks, _, err := outputBlocks(list)
		if err != nil {
			t.Fatal(err)
		}
		for _, honest := range []bool{true, false} {
			src := gathererHCL(gathererSettings{interval: 5 * time.Second, logLevel: "warn", maxConnections: 1234,
				handshakeTimeout: "30s", honestFleet: honest, outputs: blocks})
			f, diags := config.NewParser().ParseSource(src, "gatherer.hcl")
			if diags.HasErrors() {
				t.Fatalf("-output %s: %v\n%s", list, diags, src)
			}
			cfg, diags := config.DecodeGatherer(f.Body, "gatherer.hcl")
			if diags.HasErrors() {
				t.Fatalf("-output %s: %v\n%s", list, diags, src)
			}
			if cfg.PollInterval != 5*time.Second || cfg.Listen.MaxConnections != 1234 || len(cfg.Outputs) != len(blocks) {
				t.Errorf("-output %s: loaded %+v from\n%s", list, cfg, src)
			}
			if got := cfg.Limits.MaxHandshakes == 1000; got != honest {
				t.Errorf("honest fleet %v: max_handshakes %d", honest, cfg.Limits.MaxHandshakes)
			}
		}
	}
}
