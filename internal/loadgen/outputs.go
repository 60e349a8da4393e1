package loadgen

import (
	"fmt"
	"net"
	"strings"
)

// outputBlocks returns the gatherer.hcl output blocks of a comma-separated
// -output list, and the /metrics URL of a prometheus output in it.
func outputBlocks(list string) (hcl, scrape string, err error) {
	var b strings.Builder
	seen := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if seen[name] {
			return "", "", fmt.Errorf("-output %q names %s twice", list, name)
		}
		seen[name] = true
		switch name {
		case "munin":
			b.WriteString("output \"munin\" { path = \"stats.json\" }\n")
		case "stdout":
			b.WriteString("output \"stdout\" { path = \"rounds.txt\" }\n")
		case "prometheus":
			addr, err := freeAddr()
			if err != nil {
				return "", "", err
			}
			fmt.Fprintf(&b, "output \"prometheus\" { listen = %q }\n", addr)
			scrape = "http://" + addr + "/metrics"
		case "none":
			// startGatherer names a no-op output instead.
			if list != "none" {
				return "", "", fmt.Errorf("-output %q: none goes alone", list)
			}
		default:
			return "", "", fmt.Errorf("-output %q: want munin, prometheus, stdout or none, comma-separated", list)
		}
	}
	return b.String(), scrape, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port for the prometheus output: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
