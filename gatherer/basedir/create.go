package basedir

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
)

// CreateOptions are the choices of create-gatherer.
type CreateOptions struct {
	// Port to listen on; 0 picks a free one now, saved in portnum.
	Port int
	// Location are the furl's location hints (host or host:port); empty
	// means this machine's addresses and 127.0.0.1.
	Location []string
}

// Create makes a gatherer base directory (like `tahoe
// create-stats-gatherer`): the TLS identity, the secret, the port, a
// commented gatherer.hcl and stats_gatherer.furl, and returns the furl. An
// existing gatherer directory is left alone and is an error. A new
// directory gets Mode.
func Create(dir string, o CreateOptions) (furl.FURL, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return furl.FURL{}, fmt.Errorf("base directory: %w", err)
	}
	hcl := filepath.Join(dir, config.GathererFileName)
	if _, err := os.Stat(hcl); err == nil {
		return furl.FURL{}, fmt.Errorf("%s already exists: %s is already a gatherer base directory (run it with 'statsherd gatherer -basedir %s')", hcl, dir, dir)
	}
	// Check the location hints before making anything, so that a typo
	// leaves no half-made directory behind.
	trial := furl.FURL{Fingerprint: strings.Repeat("a", furl.FingerprintLen), Hints: LocationHints(o.Location, 1), Secret: strings.Repeat("a", furl.MinSecretLen)}
	if _, err := furl.Parse(trial.String()); err != nil {
		return furl.FURL{}, fmt.Errorf("making the furl: %w", err)
	}
	// Likewise a port that is taken: try it before making anything.
	if o.Port != 0 {
		ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(o.Port)))
		if err != nil {
			return furl.FURL{}, fmt.Errorf("port %d cannot be used (%w): give another -port, or none to pick a free one", o.Port, err)
		}
		ln.Close()
	}
	if _, err := Init(dir); err != nil {
		return furl.FURL{}, err
	}
	id, err := identity.LoadOrCreate(dir, IdentityName)
	if err != nil {
		return furl.FURL{}, fmt.Errorf("loading the gatherer's TLS identity: %w", err)
	}
	secret, err := LoadOrCreateSecret(dir)
	if err != nil {
		return furl.FURL{}, err
	}
	// Take the port now, so that the furl printed here stays valid.
	ln, err := Listen(dir, "", o.Port)
	if err != nil {
		return furl.FURL{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	f := furl.FURL{Fingerprint: id.Fingerprint(), Hints: LocationHints(o.Location, port), Secret: secret}
	if _, err := furl.Parse(f.String()); err != nil {
		return furl.FURL{}, fmt.Errorf("making the furl: %w", err)
	}
	if err := WriteFile(hcl, []byte(configTemplate(o)), 0o644); err != nil {
		return furl.FURL{}, err
	}
	if err := WriteFile(filepath.Join(dir, FurlFile), []byte(f.String()+"\n"), 0o600); err != nil {
		return furl.FURL{}, err
	}
	return f, nil
}

// configTemplate is the commented gatherer.hcl that Create writes.
func configTemplate(o CreateOptions) string {
	var listen strings.Builder
	if o.Port != 0 || len(o.Location) > 0 {
		listen.WriteString("listen {\n")
		if o.Port != 0 {
			fmt.Fprintf(&listen, "  port = %d\n", o.Port)
		}
		if len(o.Location) > 0 {
			q := make([]string, len(o.Location))
			for i, l := range o.Location {
				q[i] = strconv.Quote(l)
			}
			fmt.Fprintf(&listen, "  location = [%s]\n", strings.Join(q, ", "))
		}
		listen.WriteString("}\n")
	}
	return `# statsherd gatherer. Run it with: statsherd gatherer -basedir THIS_DIRECTORY
# Relative paths are relative to this directory, the base directory, which
# also holds the TLS key (gatherer.key, gatherer.crt), the furl's secret,
# the port (portnum) and stats_gatherer.furl: give that file to every host.
# The directory is readable by everyone (0755), so that munin's plugin user
# reads stats.json (0644); the key, secret and furl are the owner's (0600).
# Every setting below is optional; the commented values are the defaults.

# nickname       = "statsherd-gatherer"  # the gatherer's own node in the outputs
# log_level      = "info"                # trace, debug, info, warn, error
# poll_interval  = "60s"                 # time between poll rounds
# poll_timeout   = "10s"                 # each host answers within this, or is dropped
# output_timeout = "30s"                 # each output writes a round within this
# output_queue   = 2                     # rounds queued for a slow output before they coalesce

# listen {
#   port              = 0         # 0: the port saved in portnum (first start: any free port)
#   address           = ""        # local address to listen on; "" means all
#   location          = ["gatherer.example.org"]  # furl hints; default: this machine's addresses and 127.0.0.1
#   handshake_timeout = "10s"     # TLS handshake and hello of a connecting host
#   max_message_size  = 4194304   # largest answer accepted from a host, bytes
#   max_connections   = 20000     # established hosts at once (handshakes: limits below)
# }
` + listen.String() + `
# status { listen = "127.0.0.1:8128" }  # loopback HTTP status page; "" turns it off

# limits {
#   max_stats_per_node         = 20000   # stats in one answer; a larger answer is refused
#   max_nodes                  = 20000   # nodes known (enrolled or pending)
#   forget_after               = "168h"  # a node unseen this long leaves nodes.json and stats.json; "0s" keeps it
#   forget_new_after           = "1h"    # sooner for a node that was with the fleet under an hour (answered once)
#   max_stats_total            = 10000000 # stats held for all nodes; past it no new node is taken
#   new_node_stats_rate        = 5000    # under "open": stats a second that never-seen nodes may add (token bucket)
#   new_node_stats_burst       = 200000  # the bucket's size
#   max_handshakes             = 256     # connections in their TLS handshake or hello at once
#   max_handshakes_per_address = 16      # of those, from one source address (IPv6: one /64)
# }

# Who may report: "open" (anyone with the furl), "approve" (new nodes wait
# for 'statsherd gatherer approve ID'), "allowlist" (the node ids in a file).
# enrolment {
#   policy    = "open"
#   allowlist = "allowlist"  # node ids, one a line, for policy "allowlist"
#   pending_expiry          = "24h"  # under "approve": a pending node is forgotten this long after it asked
#   max_pending_per_address = 4      # under "approve": pending nodes from one address
# }

# Outputs: each round goes to every output. With no output block, the munin
# snapshot writer writes stats.json here.
output "munin" {
  path = "stats.json"
}
# output "stdout" {}                     # print every round (Tahoe's StdOutStatsGatherer)
# output "prometheus" { listen = "127.0.0.1:9469" }
# output "remote_write" { url = "http://127.0.0.1:8428/api/v1/write" }  # durable queue here (outputs/remote_write)
# output "graphite" { address = "127.0.0.1:2003" }                      # carbon, durable queue (outputs/graphite)
# output "influxdb" {                                                   # durable queue (outputs/influxdb)
#   url      = "http://127.0.0.1:8086"
#   database = "statsherd"
# }
`
}
