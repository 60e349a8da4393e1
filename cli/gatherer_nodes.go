package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/statsherd/statsherd/config"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/gatherer/control"
	"github.com/statsherd/statsherd/gatherer/registry"
)

const gathererControlHelp = `A running gatherer is told through its control socket (control.sock in
the base directory, owner only) and acts at once, without a restart; with
no gatherer running, the files in the base directory are changed and read
at its next start.`

// gathererControlCommands are the subcommands of 'statsherd gatherer' that
// manage nodes.
func gathererControlCommands() []*command {
	return []*command{
		{name: "nodes", summary: "list known nodes: pending (waiting for approval), enrolled, revoked",
			help: "Lists the nodes the gatherer knows. With -reject-pending, forgets every node\nwaiting for approval (or, with -from ADDR, those last seen at that address),\nand lists them.\n" + gathererControlHelp, run: runGathererControl},
		{name: "approve", summary: "admit a pending node (enrolment policy \"approve\")", args: []string{"ID"},
			help: "Admits a node waiting for approval ('statsherd gatherer nodes' lists them).\n" + gathererControlHelp, run: runGathererControl},
		{name: "revoke", summary: "disconnect a node and refuse it from now on", args: []string{"ID"},
			help: "Disconnects the node and refuses it from now on ('statsherd gatherer nodes'\nlists the ids; 'statsherd host id' prints a host's).\n" + gathererControlHelp, run: runGathererControl},
		{name: "rotate-secret", summary: "write a new secret and furl; enrolled nodes keep working",
			help: `Writes a new secret and furl (printed on stdout): enrolled nodes keep
working, a new node needs the new furl.
` + gathererControlHelp, run: runGathererControl},
	}
}

// runGathererControl runs 'statsherd gatherer nodes|approve|revoke|rotate-secret'.
func runGathererControl(ctx context.Context, c *cmdline) int {
	fs, stdout, stderr := c.fs, c.stdout, c.stderr
	op := c.cmd.name
	basedirFlag := fs.String("basedir", "", "the gatherer's base directory")
	path := fs.String("config", "", "the gatherer's HCL file (default DIR/gatherer.hcl)")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	var rejectPending *bool
	var from *string
	if op == "nodes" {
		rejectPending = fs.Bool("reject-pending", false, "forget the nodes waiting for approval (they are not revoked: one still connecting asks again)")
		from = fs.String("from", "", "with -reject-pending: only those last seen at this address (IPv6: its /64)")
	}
	if code, done := c.parse(); done {
		return code
	}
	if from != nil && *from != "" && !*rejectPending {
		return c.usageError("-from goes with -reject-pending")
	}
	if *basedirFlag == "" && *path == "" {
		return c.usageError("give -basedir DIR or -config FILE")
	}
	id := c.arg(0)
	parser := config.NewParser()
	cfg, diags := loadGathererConfig(parser, *basedirFlag, *path)
	if len(diags) > 0 {
		parser.WriteDiagnostics(stderr, diags)
	}
	if diags.HasErrors() {
		return 1
	}
	// A mistyped -basedir must not get a lock file and a secret of its own.
	if _, err := os.Stat(filepath.Join(cfg.Basedir, basedir.IdentityName+".key")); err != nil {
		fmt.Fprintf(stderr, "statsherd gatherer %s: %s is not a gatherer base directory (no %s.key in it: %v); check -basedir, or make one with 'statsherd create-gatherer %s'\n",
			op, cfg.Basedir, basedir.IdentityName, errors.Unwrap(err), cfg.Basedir)
		return 1
	}
	req := control.Request{Op: op, ID: strings.ToLower(strings.TrimSpace(id))}
	if rejectPending != nil && *rejectPending {
		req.Op, req.Address = "reject-pending", strings.TrimSpace(*from)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := control.Send(cctx, cfg.Basedir, req)
	if errors.Is(err, control.ErrNotRunning) {
		err = checkOfflineOwner(cfg.Basedir)
		if err == nil {
			resp, err = control.Offline(cfg, req)
		}
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
	switch {
	case req.Op == "reject-pending":
		fmt.Fprintf(stderr, "rejected %d pending nodes in %s\n", len(resp.Nodes), where)
		io.WriteString(stdout, formatNodes(resp.Nodes))
	case op == "nodes":
		io.WriteString(stdout, formatNodes(resp.Nodes))
	case op == "approve":
		fmt.Fprintf(stderr, "approved node %s (%s) in %s\n", resp.Node.ID, resp.Node.Nickname, where)
	case op == "revoke":
		msg := ""
		if resp.Disconnected {
			msg = ", disconnected"
		}
		fmt.Fprintf(stderr, "revoked node %s (%s) in %s%s\n", resp.Node.ID, resp.Node.Nickname, where, msg)
	case op == "rotate-secret":
		fmt.Fprintf(stderr, "new secret written in %s; enrolled nodes keep working, new nodes need the new furl\n", where)
		if resp.Furl != "" {
			fmt.Fprintln(stdout, resp.Furl)
		}
	}
	return 0
}

// checkOfflineOwner refuses to change a stopped gatherer's files as a user
// other than their owner: root would leave nodes.lock, nodes.json and the
// secret its own, mode 0600, and the gatherer's user could no longer
// start it.
func checkOfflineOwner(dir string) error {
	key := filepath.Join(dir, basedir.IdentityName+".key")
	if owner, other := otherOwner(key); other {
		return fmt.Errorf("no gatherer is running in %s, so this would change its files directly, but they belong to user %s (%s): run it as that user (runuser -u %s -- statsherd gatherer ...), or while the gatherer runs",
			dir, owner, key, owner)
	}
	return nil
}

// formatNodes writes a node list as a table.
func formatNodes(nodes []registry.Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-32s %-24s %-9s %-21s %s\n", "STATE", "NODE ID", "NICKNAME", "CONNECTED", "LAST SEEN", "LAST ADDRESS")
	for _, n := range nodes {
		seen := ""
		if !n.LastSeen.IsZero() {
			seen = n.LastSeen.UTC().Format("2006-01-02 15:04:05Z")
		}
		conn := "no"
		if n.Connected {
			conn = "yes"
		}
		fmt.Fprintf(&b, "%-9s %-32s %-24s %-9s %-21s %s\n", n.State, n.ID, n.Nickname, conn, seen, n.LastAddress)
	}
	return b.String()
}
