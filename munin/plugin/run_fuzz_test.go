package plugin

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzRun feeds the plugin arbitrary argv and environment, as munin-node
// or an operator's symlink and plugin-conf.d might: it must never panic,
// and when it fails it must print nothing on stdout that munin could take
// for data.
func FuzzRun(f *testing.F) {
	f.Add("tahoe_storage_consumed", "", "300", "grid.json")
	f.Add("tahoe_runtime_load_avg.py", "config", "", "grid.json")
	f.Add("statsherd_multigraph", "fetch", "1h", "empty.json")
	f.Add("no_such_graph", "suggest", "x", "missing.json")
	f.Add("tahoe_helper_active_uploads", "autoconf", "-5", "grid.json")
	f.Add("statsherd_multigraph", "config", "", "badvalues.json nonascii.json")
	f.Add("tahoe_", "suggest", "", "bom.json")
	now := time.Unix(1764000000, 0)
	f.Fuzz(func(t *testing.T, argv0, arg, staleAfter, statsfile string) {
		args := []string{argv0}
		if arg != "" {
			args = append(args, arg)
		}
		env := map[string]string{
			"statsfile":             filepath.Join("testdata", "snapshots", filepath.Base(statsfile)),
			"stale_after":           staleAfter,
			"MUNIN_CAP_MULTIGRAPH":  "1",
			"MUNIN_CAP_DIRTYCONFIG": "1",
		}
		if strings.TrimSuffix(filepath.Base(argv0), ".py") == Command {
			return // the tool's own commands (install-links) write files
		}
		var stdout, stderr bytes.Buffer
		code := Run(args, func(k string) string { return env[k] }, now, &stdout, &stderr)
		if code != 0 && stdout.Len() > 0 {
			t.Fatalf("exit %d with stdout %q (stderr %q)", code, stdout.String(), stderr.String())
		}
		if code != 0 && stderr.Len() == 0 {
			t.Fatalf("exit %d without a word on stderr", code)
		}
	})
}
