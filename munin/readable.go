package munin

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// MuninPluginUser is the user munin-node runs a plugin as when its
// plugin-conf.d section names none (Debian: nobody).
const MuninPluginUser = "nobody"

// unreadable says why munin's plugin user cannot read a snapshot at path
// written with mode, and how to fix it, or returns "" when it can: the
// file must be readable, and every directory above it searchable, by
// others, or by group when the operator chose group permissions (the
// plugin-conf.d section then names that group). Only modes are looked
// at; ACLs and munin-node's own sandbox are not.
func unreadable(path string, mode fs.FileMode) string {
	bits := func(m fs.FileMode, other, group fs.FileMode) bool { return m&other != 0 || m&group != 0 }
	if !bits(mode, 0o004, 0o040) {
		return fmt.Sprintf("its mode %04o lets only its owner read it: set mode = \"0644\" in the munin output block", mode.Perm())
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil && !bits(fi.Mode(), 0o001, 0o010) {
			return fmt.Sprintf("directory %s (mode %04o) keeps others out: run chmod o+x %s (the gatherer keeps its secrets 0600), or set path to a directory munin can reach",
				dir, fi.Mode().Perm(), dir)
		}
		if parent := filepath.Dir(dir); parent == dir {
			return ""
		}
	}
}
