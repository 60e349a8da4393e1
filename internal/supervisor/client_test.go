package supervisor

import (
	"io"
	"os/exec"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// TestPluginStderrBuffer: the daemon reads each plugin's stderr through a
// buffer of at most 8 KiB, not go-plugin's 64 KiB, which lives in the
// daemon as long as the plugin runs (the host holds one for its built-ins'
// process; docs/footprint.md, "The anonymous floor, fifth stop").
func TestPluginStderrBuffer(t *testing.T) {
	for _, kind := range []string{sdk.KindProducer, sdk.KindOutput} {
		p := &Pool{kind: kind, log: hclog.NewNullLogger()}
		cfg := p.clientConfig(exec.Command("true"), nil, nil, newTail(1), io.Discard)
		if n := cfg.PluginLogBufferSize; n <= 0 || n > 8<<10 {
			t.Errorf("%s: stderr read through %d bytes (0: go-plugin's 64 KiB), want at most 8 KiB", kind, n)
		}
		if len(cfg.GRPCDialOptions) == 0 {
			t.Errorf("%s: no gRPC dial options", kind)
		}
	}
}
