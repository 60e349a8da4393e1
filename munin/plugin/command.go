package plugin

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/statsherd/statsherd/internal/version"
	"github.com/statsherd/statsherd/munin/graph"
)

const usage = `usage:
  statsherd-munin install-links [-multigraph] [-force] [-target PATH] DIR
      symlink the plugin into munin's plugin directory DIR (usually
      /etc/munin/plugins) under the name of every graph, or with -multigraph
      under the one name statsherd_multigraph that draws them all; -target
      is the binary the links point to (default: this one); -force replaces
      links that point elsewhere. Operator graphs are included when the
      environment variable graphs names their file.
  statsherd-munin graphs
      list the graphs: name, kind, stat.
  statsherd-munin version
      print the version.

munin runs statsherd-munin through those links, never by this name: see
munin/README.md. munin-node-configure finds it through a wildcard link
"tahoe_" in munin's plugin library (/usr/share/munin/plugins), by these
magic markers:
` + magicMarkers

// magicMarkers are the lines munin-node-configure looks for in a plugin's
// file (it reads even a binary line by line): family auto, so that
// --suggest and --shell consider it; autoconf and suggest, so that it asks
// the wildcard link "tahoe_" which graphs have data. They are part of the
// usage text, which keeps them in the binary.
const magicMarkers = "#%# family=auto\n#%# capabilities=autoconf suggest\n"

// runCommand runs the tools, when the binary is called by its own name.
func runCommand(args []string, env func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, usage)
		return 2
	}
	if len(args) > 1 && args[0] != "install-links" && isHelp(args[1]) {
		io.WriteString(stdout, usage)
		return 0
	}
	switch args[0] {
	case "install-links":
		return installLinksCommand(args[1:], env, stdout, stderr)
	case "graphs":
		if len(args) != 1 {
			io.WriteString(stderr, usage)
			return 2
		}
		t, err := loadTable(env)
		if err != nil {
			fmt.Fprintf(stderr, "%s graphs: %v\n", Command, err)
			return 1
		}
		for _, g := range t.Graphs() {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", g.Name, g.Category, g.Stat)
		}
		return 0
	case "version":
		if len(args) != 1 {
			io.WriteString(stderr, usage)
			return 2
		}
		fmt.Fprintln(stdout, strings.Replace(version.String(), "statsherd", Command, 1))
		return 0
	case "help":
		io.WriteString(stdout, usage)
		return 0
	}
	if isHelp(args[0]) {
		io.WriteString(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n", Command, args[0])
	io.WriteString(stderr, usage)
	return 2
}

// isHelp says whether arg asks for help, as the flag package takes it.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "--h"
}

func installLinksCommand(args []string, env func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("install-links", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { io.WriteString(stderr, usage) }
	multi := fl.Bool("multigraph", false, "install the one multigraph link instead of one link per graph")
	force := fl.Bool("force", false, "replace links that point elsewhere")
	target := fl.String("target", "", "the binary the links point to (default: this one)")
	if err := fl.Parse(args); errors.Is(err, flag.ErrHelp) {
		io.WriteString(stdout, usage)
		return 0
	} else if err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		io.WriteString(stderr, usage)
		return 2
	}
	dir := fl.Arg(0)
	if *target == "" {
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.EvalSymlinks(exe)
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s install-links: finding this binary: %v; give -target\n", Command, err)
			return 1
		}
		*target = exe
	}
	abs, err := filepath.Abs(*target)
	if err != nil {
		fmt.Fprintf(stderr, "%s install-links: %v\n", Command, err)
		return 1
	}
	if fi, err := os.Stat(abs); err != nil {
		fmt.Fprintf(stderr, "%s install-links: -target: %v; name the installed statsherd-munin binary\n", Command, err)
		return 1
	} else if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		fmt.Fprintf(stderr, "%s install-links: -target %s is not an executable file; name the installed statsherd-munin binary\n", Command, abs)
		return 1
	}
	t, err := loadTable(env)
	if err != nil {
		fmt.Fprintf(stderr, "%s install-links: %v\n", Command, err)
		return 1
	}
	var graphs []string
	for _, g := range t.Graphs() {
		graphs = append(graphs, g.Name)
	}
	names, others := graphs, []string{graph.Multigraph}
	if *multi {
		names, others = others, names
	}
	changed, err := InstallLinks(dir, abs, names, *force, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "%s install-links: %v\n", Command, err)
		return 1
	}
	var both []string
	for _, name := range others {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			both = append(both, name)
		}
	}
	if len(both) > 0 {
		fmt.Fprintf(stderr, "%s install-links: warning: %s also has %s; munin would run both the single graph links and %s, feeding the same graphs twice: remove one kind\n",
			Command, dir, strings.Join(both, ", "), graph.Multigraph)
	}
	if changed {
		fmt.Fprintf(stdout, "restart munin-node to pick up the new plugins\n")
	} else {
		fmt.Fprintf(stdout, "nothing changed\n")
	}
	return 0
}

// InstallLinks creates dir/NAME → target for every name, reporting each to
// w, and says whether it changed anything. A link already pointing at
// target is left alone; a link pointing elsewhere is replaced only if
// force; anything else in the way is an error.
func InstallLinks(dir, target string, names []string, force bool, w io.Writer) (changed bool, err error) {
	if fi, err := os.Stat(dir); err != nil {
		return false, fmt.Errorf("plugin directory: %w", err)
	} else if !fi.IsDir() {
		return false, fmt.Errorf("plugin directory %s is not a directory", dir)
	}
	for _, name := range names {
		link := filepath.Join(dir, name)
		old, err := os.Readlink(link)
		switch {
		case err == nil && old == target:
			fmt.Fprintf(w, "unchanged %s -> %s\n", link, target)
			continue
		case err == nil && !force:
			return changed, fmt.Errorf("%s already links to %s; remove it, or give -force to replace it", link, old)
		case err == nil:
			// Replace atomically: a new link beside it, renamed over it.
			tmp := link + ".statsherd-tmp"
			os.Remove(tmp)
			if err := os.Symlink(target, tmp); err != nil {
				return changed, fmt.Errorf("linking %s: %w", link, err)
			}
			if err := os.Rename(tmp, link); err != nil {
				os.Remove(tmp)
				return changed, fmt.Errorf("linking %s: %w", link, err)
			}
			fmt.Fprintf(w, "replaced %s -> %s (was -> %s)\n", link, target, old)
			changed = true
			continue
		case !errors.Is(err, fs.ErrNotExist):
			if _, serr := os.Lstat(link); serr == nil {
				return changed, fmt.Errorf("%s exists and is not a symlink; move it away first", link)
			}
			return changed, fmt.Errorf("reading link %s: %w", link, err)
		}
		if err := os.Symlink(target, link); err != nil {
			return changed, fmt.Errorf("linking %s: %w", link, err)
		}
		fmt.Fprintf(w, "created %s -> %s\n", link, target)
		changed = true
	}
	return changed, nil
}
