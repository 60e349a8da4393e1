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
	EnvFieldNames = "field_names"
	envCapMulti   = "MUNIN_CAP_MULTIGRAPH"
	envCapDirty   = "MUNIN_CAP_DIRTYCONFIG"
)

// Run runs the plugin as munin does: args[0] is the path it was called by,
// args[1] munin's command. It writes to stdout only when it succeeds, so
// munin never reads half an answer; errors go to stderr with a non-zero
// exit code. Parts of the snapshot it had to skip are reported on stderr,
// one line per kind of problem, and do not fail the run.
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
	for _, w := range r.warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", name, w)
	}
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
	name     string
	env      func(string) string
	now      time.Time
	warnings []string
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
			return nil, unknownGraph(r.name)
		}
		graphs = []*graph.Graph{g}
	}
	staleAfter, err := r.staleAfter()
	if err != nil {
		return nil, err
	}
	naming, err := r.naming()
	if err != nil {
		return nil, err
	}
	ws := graph.Wants(graphs...)
	samples, err := r.load(ws)
	if err != nil {
		return nil, err
	}
	v := newView(samples, ws, naming, r.now, staleAfter)
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

func unknownGraph(name string) error {
	return fmt.Errorf("unknown graph %q: the plugin's link name picks the graph; '%s graphs' lists them, '%s install-links DIR' creates the links", name, Command, Command)
}

// wildcard returns the prefix a wildcard name stands for: munin's
// wildcard plugins end in '_' ("tahoe_"), and munin-node-configure links
// them under that name plus each name their suggest prints. It returns
// false when name is not a wildcard of any graph of t.
func wildcard(name string, t *graph.Table) (string, bool) {
	if !strings.HasSuffix(name, "_") || t.Lookup(name) != nil {
		return "", false
	}
	for _, g := range t.Graphs() {
		if strings.HasPrefix(g.Name, name) {
			return name, true
		}
	}
	return "", false
}

// autoconf answers munin-node-configure: "yes" when the link names a graph
// (or is a wildcard of graphs, "tahoe_") and the snapshot named by
// statsfile reads, "no (why)" otherwise, exit code 0 either way.
func (r *run) autoconf() []byte {
	no := func(err error) []byte {
		return []byte("no (" + strings.ReplaceAll(err.Error(), "\n", " ") + ")\n")
	}
	t, err := loadTable(r.env)
	if err != nil {
		return no(err)
	}
	if _, ok := wildcard(r.name, t); !ok && r.name != graph.Multigraph && t.Lookup(r.name) == nil {
		return no(unknownGraph(r.name))
	}
	if _, err := r.naming(); err != nil {
		return no(err)
	}
	if _, err := r.staleAfter(); err != nil {
		return no(err)
	}
	if _, err := r.load(nil); err != nil {
		return no(err)
	}
	return []byte("yes\n")
}

// suggest prints the graphs that have data in the snapshot, one a line.
// Called by a wildcard name ("tahoe_"), it prints the graphs named with
// that prefix, less the prefix, as munin-node-configure wants.
func (r *run) suggest() ([]byte, error) {
	table, err := loadTable(r.env)
	if err != nil {
		return nil, err
	}
	prefix, _ := wildcard(r.name, table)
	ws := graph.Wants(table.Graphs()...)
	samples, err := r.load(ws)
	if err != nil {
		return nil, err
	}
	var b []byte
	for _, g := range newView(samples, ws, PerCharacter, r.now, DefaultStaleAfter).withData(table.Graphs()) {
		if !strings.HasPrefix(g.Name, prefix) {
			continue
		}
		b = append(b, g.Name[len(prefix):]...)
		b = append(b, '\n')
	}
	return b, nil
}

func (r *run) naming() (Naming, error) {
	s := r.env(EnvFieldNames)
	n, err := ParseNaming(s)
	if err != nil {
		return 0, fmt.Errorf("environment variable %s=%q: %w", EnvFieldNames, s, err)
	}
	return n, nil
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

// load reads the snapshots named by statsfile, keeping ws, and merges
// them into one fleet: where a node is in several, its newest sample (by
// timestamp; on a tie, the one in the file named last) wins. With several
// files, one that cannot be read costs its nodes, reported as a warning;
// only when none reads does the run fail.
func (r *run) load(ws []snapshot.Want) ([]snapshot.Sample, error) {
	paths := strings.Fields(r.env(EnvStatsFile))
	if len(paths) == 0 {
		return nil, fmt.Errorf("the environment variable %s is not set; set it to the gatherer's stats.json with 'env.%s' in munin's plugin-conf.d", EnvStatsFile, EnvStatsFile)
	}
	var (
		samples  []snapshot.Sample
		byID     map[string]int
		problems [snapshot.BadNode + 1]struct {
			count int
			first string
		}
		failed []error
		future struct {
			count int
			first string
		}
	)
	// A sample stamped later than now (beyond a small skew) would win
	// over every other shard's forever: it is left out (issue 25).
	latest := float64(r.now.Add(MaxFutureSkew).UnixNano()) / 1e9
	for _, path := range paths {
		rd, err := readSnapshot(path, ws)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		kept := rd.Samples[:0]
		for _, s := range rd.Samples {
			if !r.now.IsZero() && s.Timestamp > latest {
				if future.count == 0 {
					future.first = path + ", node " + s.ID
				}
				future.count++
				continue
			}
			kept = append(kept, s)
		}
		rd.Samples = kept
		for _, p := range rd.Problems {
			pr := &problems[p.Kind]
			if pr.count == 0 {
				pr.first = path + ", " + p.First
			}
			pr.count += p.Count
		}
		if samples == nil {
			samples = rd.Samples
			continue
		}
		if byID == nil {
			byID = make(map[string]int, len(samples)+len(rd.Samples))
			for i := range samples {
				byID[samples[i].ID] = i
			}
		}
		for _, s := range rd.Samples {
			if i, ok := byID[s.ID]; !ok {
				byID[s.ID] = len(samples)
				samples = append(samples, s)
			} else if s.Timestamp >= samples[i].Timestamp {
				samples[i] = s
			}
		}
	}
	if len(failed) == len(paths) {
		if len(failed) == 1 {
			return nil, failed[0]
		}
		msgs := make([]string, len(failed))
		for i, err := range failed {
			msgs[i] = err.Error()
		}
		return nil, fmt.Errorf("none of the %d snapshots %s names reads: %s", len(paths), EnvStatsFile, strings.Join(msgs, "; "))
	}
	for _, err := range failed {
		r.warnings = append(r.warnings, fmt.Sprintf("%v; its nodes are left out", err))
	}
	for k, p := range problems {
		if p.count > 0 {
			r.warnings = append(r.warnings, fmt.Sprintf("%s: %d; the first in %s", snapshot.ProblemKind(k), p.count, p.first))
		}
	}
	if future.count > 0 {
		r.warnings = append(r.warnings, fmt.Sprintf("samples stamped more than %v in the future, left out: %d; the first in %s", MaxFutureSkew, future.count, future.first))
	}
	return samples, nil
}

// MaxFutureSkew is how far in the future a sample's time may be (clocks
// of gatherers differ a little) before it is left out.
const MaxFutureSkew = 5 * time.Minute

// MaxSnapshotSize bounds a snapshot file read: a fleet of 20,000 nodes of
// 20,000 stats is some 10 GB, far past what munin graphs; a larger file
// (or /dev/zero named by mistake) is refused.
const MaxSnapshotSize = 4 << 30

// readSnapshot reads one snapshot, keeping ws.
func readSnapshot(path string, ws []snapshot.Want) (*snapshot.Reading, error) {
	f, err := readFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading snapshot: %w (%s names it; the gatherer's munin output writes it once per round)", err, EnvStatsFile)
		}
		return nil, fmt.Errorf("reading snapshot: %w", err)
	}
	rd, err := snapshot.ReadWith(f.data, ws, snapshot.ReadOptions{Done: f.done})
	f.close()
	if err != nil {
		return nil, fmt.Errorf("snapshot %s is corrupt: %w", path, err)
	}
	return rd, nil
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
