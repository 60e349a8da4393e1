package loadgen

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// outputBlock is one output block of the gatherer's configuration.
type outputBlock struct {
	name  string
	attrs map[string]string
}

// outputBlocks returns the output blocks of a comma-separated -output list,
// and the /metrics URL of a prometheus output in it.
func outputBlocks(list string) (blocks []outputBlock, scrape string, err error) {
	seen := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if seen[name] {
			return nil, "", fmt.Errorf("-output %q names %s twice", list, name)
		}
		seen[name] = true
		switch name {
		case "munin":
			blocks = append(blocks, outputBlock{"munin", map[string]string{"path": "stats.json"}})
		case "stdout":
			blocks = append(blocks, outputBlock{"stdout", map[string]string{"path": "rounds.txt"}})
		case "prometheus":
			addr, err := freeAddr()
			if err != nil {
				return nil, "", err
			}
			blocks = append(blocks, outputBlock{"prometheus", map[string]string{"listen": addr}})
			scrape = "http://" + addr + "/metrics"
		case "none":
			if list != "none" {
				return nil, "", fmt.Errorf("-output %q: none goes alone", list)
			}
			// The gatherer uses munin when no output is named: name a
			// no-op one instead, the stdout output writing to /dev/null.
			blocks = append(blocks, outputBlock{"stdout", map[string]string{"path": "/dev/null"}})
		default:
			return nil, "", fmt.Errorf("-output %q: want munin, prometheus, stdout or none, comma-separated", list)
		}
	}
	return blocks, scrape, nil
}

// gathererSettings are what the load tool sets in its gatherer's
// configuration.
type gathererSettings struct {
	interval         time.Duration
	logLevel         string
	maxConnections   int
	handshakeTimeout string
	pprof            bool
	// honestFleet lets the load tool's hosts, all from 127.0.0.1,
	// handshake and enrol at once, as hosts from many addresses that have
	// been with the gatherer would (not under -attack, which measures the
	// defaults).
	honestFleet bool
	outputs     []outputBlock
}

// gathererHCL writes the gatherer's configuration (gatherer.hcl) with
// hclwrite, so every value is quoted as HCL wants it.
func gathererHCL(s gathererSettings) []byte {
	f := hclwrite.NewEmptyFile()
	b := f.Body()
	str := func(body *hclwrite.Body, name, v string) { body.SetAttributeValue(name, cty.StringVal(v)) }
	num := func(body *hclwrite.Body, name string, v int64) { body.SetAttributeValue(name, cty.NumberIntVal(v)) }
	str(b, "poll_interval", s.interval.String())
	str(b, "poll_timeout", (s.interval * 8 / 10).String())
	str(b, "output_timeout", "60s")
	str(b, "log_level", s.logLevel)
	l := b.AppendNewBlock("listen", nil).Body()
	str(l, "address", "127.0.0.1")
	l.SetAttributeValue("location", cty.ListVal([]cty.Value{cty.StringVal("127.0.0.1")}))
	num(l, "max_connections", int64(s.maxConnections))
	str(l, "handshake_timeout", s.handshakeTimeout)
	st := b.AppendNewBlock("status", nil).Body()
	str(st, "listen", "127.0.0.1:0")
	st.SetAttributeValue("pprof", cty.BoolVal(s.pprof))
	if s.honestFleet {
		lim := b.AppendNewBlock("limits", nil).Body()
		num(lim, "max_handshakes", 1000)
		num(lim, "max_handshakes_per_address", 1000)
		num(lim, "new_node_stats_rate", 1_000_000_000)
		num(lim, "new_node_stats_burst", 1_000_000_000)
	}
	for _, o := range s.outputs {
		ob := b.AppendNewBlock("output", []string{o.name}).Body()
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range o.attrs {
				if !yield(k) {
					return
				}
			}
		}) {
			str(ob, k, o.attrs[k])
		}
	}
	return f.Bytes()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port for the prometheus output: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
