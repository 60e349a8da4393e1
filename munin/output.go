// Package munin is statsherd's munin output: the built-in output plugin
// "munin" that keeps the latest sample of every node ever seen and writes
// it, once per gatherer round, to the stats.json snapshot the
// statsherd-munin plugin reads (package munin/plugin), in Tahoe-LAFS's
// format (package munin/snapshot).
package munin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/munin/snapshot"
	"github.com/statsherd/statsherd/sdk"
)

// Defaults of the output's attributes.
const (
	DefaultPath = "stats.json"
	DefaultMode = "0644"
)

// Config is the output's HCL block.
type Config struct {
	// Path of the snapshot; relative to the gatherer's working directory,
	// its base directory.
	Path string `json:"path"`
	// Mode is the file's permission bits, in octal. munin runs plugins as
	// nobody: the file must be world-readable for munin to read it.
	Mode string `json:"mode"`
	// ForgetAfter drops a node not heard from for this long; 0 keeps every
	// node forever.
	ForgetAfter time.Duration `json:"forget_after"`
	// ForgetNewAfter drops sooner a node first seen by this output less
	// than an hour before it was last heard from (one that answered once
	// and vanished): after this long, if shorter than ForgetAfter.
	ForgetNewAfter time.Duration `json:"forget_new_after"`
}

var schema = sdk.Schema{
	{Name: "path", Type: sdk.String, Default: DefaultPath,
		Description: "the snapshot file (stats.json) statsherd-munin reads; relative to the gatherer's base directory"},
	{Name: "mode", Type: sdk.String, Default: DefaultMode,
		Description: "permission bits of the snapshot, octal; munin reads it as user nobody"},
	{Name: "forget_after", Type: sdk.Duration,
		Description: "drop a node not heard from for this long (default: keep every node forever)"},
	{Name: "forget_new_after", Type: sdk.Duration,
		Description: "drop sooner, after this long, a node that was heard from for less than an hour (default: as forget_after)"},
}

type output struct {
	log hclog.Logger
	// now is the clock used when a round carries no time.
	now func() time.Time

	path        string
	mode        fs.FileMode
	forgetAfter time.Duration
	forgetNew   time.Duration
	fleet       *fleet
	nodes       map[string]*node
	ids         []string // sorted ids of nodes; nil when nodes changed
	buf         []byte   // scratch: one entry
	w           *bufio.Writer
}

// New returns the munin output. It does nothing until Configure.
func New(log hclog.Logger) sdk.Output {
	return &output{log: log, now: time.Now}
}

func (o *output) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        "munin",
		Version:     version.String(),
		Description: "writes the latest sample of every node to a Tahoe-compatible stats.json for the statsherd-munin plugin",
		Config:      schema,
	}, nil
}

// settings decodes and checks the block: the config, the snapshot's
// absolute path and its mode.
func settings(raw sdk.Config) (Config, string, uint64, error) {
	cfg := Config{Path: DefaultPath, Mode: DefaultMode}
	if err := raw.Decode(&cfg); err != nil {
		return cfg, "", 0, err
	}
	if cfg.Path == "" {
		return cfg, "", 0, errors.New("path is empty; name the snapshot file, e.g. path = \"stats.json\"")
	}
	mode, err := strconv.ParseUint(cfg.Mode, 8, 32)
	if err != nil || mode > 0o777 {
		return cfg, "", 0, fmt.Errorf("mode %q is not octal permission bits like \"0644\"", cfg.Mode)
	}
	if cfg.ForgetAfter < 0 {
		return cfg, "", 0, fmt.Errorf("forget_after %s is negative", cfg.ForgetAfter)
	}
	if cfg.ForgetNewAfter < 0 {
		return cfg, "", 0, fmt.Errorf("forget_new_after %s is negative", cfg.ForgetNewAfter)
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return cfg, "", 0, fmt.Errorf("path %q: %w", cfg.Path, err)
	}
	return cfg, path, mode, nil
}

// Check is Configure's dry run: the block's values hold, an existing
// snapshot loads, and its directory exists and is writable (nothing is
// written).
func (o *output) Check(_ context.Context, raw sdk.Config) error {
	_, path, _, err := settings(raw)
	if err != nil {
		return err
	}
	if _, _, err := load(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("the snapshot's directory does not take new files: %s is not a directory", dir)
	}
	if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
		return fmt.Errorf("the snapshot's directory does not take new files: %s: %w", dir, err)
	}
	return nil
}

// Configure reads the config and loads the existing snapshot, so that
// nodes not yet back keep their last entry. A snapshot that cannot be read
// is an error and is left untouched.
func (o *output) Configure(_ context.Context, raw sdk.Config) error {
	cfg, path, mode, err := settings(raw)
	if err != nil {
		return err
	}
	fl, nodes, err := load(path)
	if err != nil {
		return err
	}
	if err := checkDir(path); err != nil {
		return err
	}
	o.path, o.mode, o.forgetAfter, o.forgetNew = path, fs.FileMode(mode), cfg.ForgetAfter, cfg.ForgetNewAfter
	if why := unreadable(path, o.mode); why != "" {
		o.log.Warn("munin cannot read the snapshot", "path", path, "user", MuninPluginUser, "why", why)
	}
	o.fleet, o.nodes, o.ids = fl, nodes, nil
	o.log.Info("snapshot loaded", "path", path, "nodes", len(nodes))
	return nil
}

// Write adds the round's samples and rewrites the snapshot atomically.
func (o *output) Write(ctx context.Context, round sdk.Round) error {
	return o.WriteNodes(ctx, sdk.NodesOf(round))
}

// WriteNodes is Write, node by node: each node's sample is folded into
// the model as it is decoded, so the output never holds the round.
func (o *output) WriteNodes(ctx context.Context, round *sdk.RoundNodes) error {
	if o.nodes == nil {
		return errors.New("write before configure")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := round.Time
	if now.IsZero() {
		now = o.now()
	}
	for s, l := range round.Lists() {
		e := o.nodes[s.ID]
		if e == nil {
			e = &node{}
			o.nodes[s.ID] = e
			o.ids = nil
			o.log.Info("new node", "node", s.ID, "nickname", s.Nickname)
		}
		ts := s.Timestamp
		if ts.IsZero() || ts.Unix() <= 0 {
			// No time: a zero time.Time does not survive the wire
			// (UnixNano of year 1 overflows), so anything at or before
			// the epoch means none.
			ts = now
		}
		e.nickname, e.timestamp = s.Nickname, snapshot.Unix(ts)
		if e.first == 0 {
			e.first = e.timestamp
		}
		// munin has no labels: a series is written under its folded name
		// (stat.Fold), as a tagged statsd line always was named, so every
		// name stays as it was (model.go).
		o.fleet.setLists(e, l)
	}
	o.forget(now)
	if o.ids == nil {
		o.ids = make([]string, 0, len(o.nodes))
		for id := range o.nodes {
			o.ids = append(o.ids, id)
		}
		slices.Sort(o.ids)
	}
	if o.w == nil {
		o.w = bufio.NewWriterSize(nil, 256<<10)
	}
	err := writeFileAtomic(o.path, o.mode, o.w, func(w *bufio.Writer) error {
		w.WriteByte('{')
		for i, id := range o.ids {
			b := o.buf[:0]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '\n')
			b = o.fleet.appendEntry(b, id, o.nodes[id])
			o.buf = b
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		_, err := w.WriteString("\n}\n")
		return err
	})
	o.fleet.sweep()
	if err != nil {
		return fmt.Errorf("writing snapshot: %w", err)
	}
	return nil
}

// youngNode: a node heard from for less than this is forgotten after
// forgetNew.
const youngNode = time.Hour

// forget drops the nodes not heard from for forgetAfter, or forgetNew for
// a young one.
func (o *output) forget(now time.Time) {
	if o.forgetAfter <= 0 {
		return
	}
	cutoff := snapshot.Unix(now) - o.forgetAfter.Seconds()
	cutoffNew := snapshot.Unix(now) - min(o.forgetNew, o.forgetAfter).Seconds()
	for id, e := range o.nodes {
		// first is 0 for a node loaded from the snapshot: its age is
		// not known, and it is taken as old.
		young := o.forgetNew > 0 && e.first > 0 && e.timestamp-e.first < youngNode.Seconds()
		if e.timestamp < cutoff || young && e.timestamp < cutoffNew {
			o.log.Info("forgetting node", "node", id, "nickname", e.nickname,
				"last_seen", snapshot.FromUnix(e.timestamp).UTC().Format(time.RFC3339))
			delete(o.nodes, id)
			o.ids = nil
		}
	}
}

// Close does nothing: every round is already on disk.
func (o *output) Close(context.Context) error { return nil }

var (
	_ sdk.Output     = (*output)(nil)
	_ sdk.NodeWriter = (*output)(nil)
)
