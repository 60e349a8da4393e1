package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer"
)

const gathererControlUsage = `usage: statsherd gatherer nodes          (-basedir DIR | -config FILE) [-json]
       statsherd gatherer approve ID     (-basedir DIR | -config FILE)
       statsherd gatherer revoke ID      (-basedir DIR | -config FILE)
       statsherd gatherer rotate-secret  (-basedir DIR | -config FILE)

Manage the nodes of a gatherer. A running gatherer is told through its
control socket (control.sock in the base directory, owner only) and acts at
once, without a restart; with no gatherer running, the files in the base
directory are changed and read at its next start.

  nodes          list known nodes: pending (waiting for approval), enrolled, revoked
  approve ID     admit a pending node (enrolment policy "approve")
  revoke ID      disconnect the node and refuse it from now on
  rotate-secret  write a new secret and furl: enrolled nodes keep working,
                 a new node needs the new furl (printed on stdout)

flags:
`

// gathererControlOps are the subcommands of 'statsherd gatherer' that
// manage nodes, with whether they take a node id.
var gathererControlOps = map[string]bool{"nodes": false, "approve": true, "revoke": true, "rotate-secret": false}

// runGathererControl runs 'statsherd gatherer OP ...'.
func runGathererControl(ctx context.Context, op string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("statsherd gatherer "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, gathererControlUsage)
		fs.PrintDefaults()
	}
	basedir := fs.String("basedir", "", "the gatherer's base directory")
	path := fs.String("config", "", "the gatherer's HCL file (default DIR/gatherer.hcl)")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	// The node id may come before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
		fs = subFlags(fs)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "statsherd gatherer %s: unexpected argument %q\n", op, fs.Arg(0))
		return 2
	}
	needsID := gathererControlOps[op]
	if needsID != (id != "") || (*basedir == "" && *path == "") {
		if needsID && id == "" {
			fmt.Fprintf(stderr, "statsherd gatherer %s: give the node id ('statsherd gatherer nodes' lists them)\n", op)
		} else if !needsID && id != "" {
			fmt.Fprintf(stderr, "statsherd gatherer %s: unexpected argument %q\n", op, id)
		}
		fs.Usage()
		return 2
	}
	parser := config.NewParser()
	cfg, diags := loadGathererConfig(parser, *basedir, *path)
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	req := gatherer.ControlRequest{Op: op, ID: strings.ToLower(strings.TrimSpace(id))}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := gatherer.SendControl(cctx, cfg.Basedir, req)
	if errors.Is(err, gatherer.ErrNotRunning) {
		resp, err = gatherer.ControlOffline(cfg, req)
	}
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
	}
	if err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer %s: %v\n", op, err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(resp)
		return 0
	}
	where := "the running gatherer"
	if resp.Offline {
		where = "the base directory (no gatherer running; it reads them at start)"
	}
	switch op {
	case "nodes":
		io.WriteString(stdout, gatherer.FormatNodes(resp.Nodes))
	case "approve":
		fmt.Fprintf(stderr, "approved node %s (%s) in %s\n", resp.Node.ID, resp.Node.Nickname, where)
	case "revoke":
		msg := ""
		if resp.Disconnected {
			msg = ", disconnected"
		}
		fmt.Fprintf(stderr, "revoked node %s (%s) in %s%s\n", resp.Node.ID, resp.Node.Nickname, where, msg)
	case "rotate-secret":
		fmt.Fprintf(stderr, "new secret written in %s; enrolled nodes keep working, new nodes need the new furl\n", where)
		if resp.Furl != "" {
			fmt.Fprintln(stdout, resp.Furl)
		}
	}
	return 0
}

// subFlags parses the flags after a trailing node id.
func subFlags(fs *flag.FlagSet) *flag.FlagSet {
	if fs.NArg() > 1 {
		fs.Parse(fs.Args()[1:])
	}
	return fs
}
