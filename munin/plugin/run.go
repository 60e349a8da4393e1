// Package plugin is statsherd-munin, the munin plugin that graphs the
// snapshot (stats.json) written by statsherd's munin output, as Tahoe-LAFS's
// tahoe_stats plugin did.
//
// munin-node runs it through symlinks: the link's name is the graph, the
// environment carries the settings (set in plugin-conf.d), the argument is
// munin's command (config, fetch, autoconf, suggest). Run is the whole
// plugin, so tests call it directly.
package plugin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/statsherd/statsherd/munin/graph"
	"github.com/statsherd/statsherd/munin/snapshot"
)

// Command is the binary's own name; called by it (not through a graph
// link), it runs the tools: install-links, graphs.
const Command = "statsherd-munin"

// DefaultStaleAfter is how long after its timestamp a node's values are
// still fetched: Tahoe's STAT_VALIDITY.
const DefaultStaleAfter = 300 * time.Second

// The environment variables the plugin reads.
const (
	EnvStatsFile  = "statsfile"
	EnvGraphs     = "graphs"
	EnvStaleAfter = "stale_after"
	envCapMulti   = "MUNIN_CAP_MULTIGRAPH"
	envCapDirty   = "MUNIN_CAP_DIRTYCONFIG"
)

// Run runs the plugin as munin does: args[0] is the path it was called by,
// args[1] munin's command. It writes to stdout only when it succeeds, so
// munin never reads half an answer; errors go to stderr with a non-zero
// exit code.
func Run(args []string, env func(string) string, now time.Time, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: no program name\n", Command)
		return 2
	}
	name := strings.TrimSuffix(filepath.Base(args[0]), ".py")
	if name == Command {
		return runCommand(args[1:], env, stdout, stderr)
	}
	r := &run{name: name, env: env, now: now}
	out, err := r.plugin(args[1:])
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	// Everything that can fail has been done: stream the answer.
	w := bufio.NewWriterSize(stdout, 64<<10)
	out(w)
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "%s: writing output: %v\n", name, err)
		return 1
	}
	return 0
}

type run struct {
	name string
	env  func(string) string
	now  time.Time
}

// output writes a plugin's answer; it cannot fail but for writing.
type output func(w *bufio.Writer)

// bytesOutput is an answer computed in full.
func bytesOutput(b []byte) output { return func(w *bufio.Writer) { w.Write(b) } }

// plugin checks everything and reads the snapshot, then returns the
// answer to write.
func (r *run) plugin(args []string) (output, error) {
	cmd := ""
	if len(args) > 0 {
		cmd = args[0]
	}
	if len(args) > 1 {
		return nil, fmt.Errorf("too many arguments %q; munin calls a plugin with one of config, fetch, autoconf, suggest", args)
	}
	switch cmd {
	case "autoconf":
		return bytesOutput(r.autoconf()), nil
	case "suggest":
		b, err := r.suggest()
		return bytesOutput(b), err
	case "config", "fetch", "":
	default:
		return nil, fmt.Errorf("unknown argument %q; munin calls a plugin with config, fetch, autoconf or suggest", cmd)
	}

	table, err := loadTable(r.env)
	if err != nil {
		return nil, err
	}
	var graphs []*graph.Graph
	multi := r.name == graph.Multigraph
	if multi {
		if r.env(envCapMulti) != "1" {
			return nil, fmt.Errorf("this munin does not support multigraph plugins (%s is not 1); link the single graphs instead (%s install-links DIR)", envCapMulti, Command)
		}
		graphs = table.Graphs()
	} else {
		g := table.Lookup(r.name)
		if g == nil {
			return nil, fmt.Errorf("unknown graph %q: the plugin's link name picks the graph; '%s graphs' lists them, '%s install-links DIR' creates the links", r.name, Command, Command)
		}
		graphs = []*graph.Graph{g}
	}
	staleAfter, err := r.staleAfter()
	if err != nil {
		return nil, err
	}
	snap, err := r.load(graph.Select(graphs...))
	if err != nil {
		return nil, err
	}
	v := newView(snap, r.now, staleAfter)
	if multi {
		// Only the graphs with data; but a multigraph plugin whose config
		// shows no "multigraph" line when munin-node starts is never
		// treated as one, so with no data at all, every graph.
		if with := v.withData(graphs); len(with) > 0 {
			graphs = with
		}
	}
	dirty := r.env(envCapDirty) == "1"
	return func(w *bufio.Writer) {
		var b []byte // one graph at a time
		for _, g := range graphs {
			b = b[:0]
			if multi {
				b = append(b, "multigraph "...)
				b = append(b, g.Name...)
				b = append(b, '\n')
			}
			if cmd == "config" {
				b = v.appendConfig(b, g)
			}
			if cmd != "config" || dirty {
				b = v.appendValues(b, g)
			}
			w.Write(b)
		}
	}, nil
}

// autoconf answers munin-node-configure: "yes" when the snapshot named by
// statsfile reads, "no (why)" otherwise, exit code 0 either way.
func (r *run) autoconf() []byte {
	if _, err := r.load(&snapshot.Select{}); err != nil {
		return []byte("no (" + strings.ReplaceAll(err.Error(), "\n", " ") + ")\n")
	}
	if _, err := loadTable(r.env); err != nil {
		return []byte("no (" + strings.ReplaceAll(err.Error(), "\n", " ") + ")\n")
	}
	return []byte("yes\n")
}

// suggest prints the graphs that have data in the snapshot, one a line.
func (r *run) suggest() ([]byte, error) {
	table, err := loadTable(r.env)
	if err != nil {
		return nil, err
	}
	snap, err := r.load(graph.Select(table.Graphs()...))
	if err != nil {
		return nil, err
	}
	var b []byte
	for _, g := range newView(snap, r.now, DefaultStaleAfter).withData(table.Graphs()) {
		b = append(b, g.Name...)
		b = append(b, '\n')
	}
	return b, nil
}

func (r *run) staleAfter() (time.Duration, error) {
	s := r.env(EnvStaleAfter)
	if s == "" {
		return DefaultStaleAfter, nil
	}
	d, err := parseSeconds(s)
	if err != nil {
		return 0, fmt.Errorf("environment variable %s=%q: %w", EnvStaleAfter, s, err)
	}
	return d, nil
}

// parseSeconds reads a number of seconds ("300", "90.5") or a Go duration
// ("5m").
func parseSeconds(s string) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f > float64(1<<62)/1e9 || math.IsNaN(f) {
			return 0, errors.New("out of range")
		}
		d = time.Duration(f * 1e9)
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, errors.New(`not a number of seconds or a duration like "5m"`)
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return d, nil
}

// load reads the snapshot named by statsfile, keeping what sel names.
func (r *run) load(sel *snapshot.Select) (snapshot.Snapshot, error) {
	path := r.env(EnvStatsFile)
	if path == "" {
		return nil, fmt.Errorf("the environment variable %s is not set; set it to the gatherer's stats.json with 'env.%s' in munin's plugin-conf.d", EnvStatsFile, EnvStatsFile)
	}
	data, release, err := readFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading snapshot: %w (%s names it; the gatherer's munin output writes it once per round)", err, EnvStatsFile)
		}
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	snap, err := snapshot.ParseSelect(data, sel)
	release()
	if err != nil {
		return nil, fmt.Errorf("snapshot %s is corrupt: %w", path, err)
	}
	return snap, nil
}

// loadTable returns Tahoe's graphs plus the operator's, if graphs names a file.
func loadTable(env func(string) string) (*graph.Table, error) {
	t, err := graph.Tahoe()
	if err != nil {
		return nil, err
	}
	if path := env(EnvGraphs); path != "" {
		if diags := graph.LoadFile(t, path); diags.HasErrors() {
			msgs := make([]string, 0, len(diags))
			for _, d := range diags {
				msgs = append(msgs, d.Error())
			}
			return nil, fmt.Errorf("graphs file (environment variable %s):\n  %s", EnvGraphs, strings.Join(msgs, "\n  "))
		}
	}
	return t, nil
}
