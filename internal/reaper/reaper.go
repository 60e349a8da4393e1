// Package reaper owns the reaping of this process's children. A process
// has one set of children and one subreaper flag, so there is one reaper a
// process, started by the process's main (the daemons, and `statsherd
// plugin serve`, the process that serves built-in plugins), never by a
// plugin running inside it.
//
// The reaper makes the process the child subreaper of its descendants
// (prctl PR_SET_CHILD_SUBREAPER): a process that a child started and left
// behind, even one that left the child's process group or session, is
// re-parented here instead of to init. At every SIGCHLD the reaper kills
// and reaps the orphans it owns: children whose process group is one that
// Launch recorded (a plugin, a command: each leads its own group), or
// whose environment carries Env() (inherited by every descendant of a
// child started with it). Anything else, such as a child another part of
// the process started with os/exec and is waiting for, is never touched.
//
// Launch and Waited bracket a child that os/exec waits for, so the reaper
// never takes its pid for an orphan's. End is for a caller that promises
// nothing it started outlives a call (the exec producer).
package reaper

import (
	"os"
	"strconv"
)

// envPrefix starts the environment variable that marks this process's
// descendants; the pid in its name keeps each level's mark apart (a
// daemon's plugin carries the daemon's, and the plugin's commands carry
// both).
const envPrefix = "STATSHERD_REAPER_"

// Env is the NAME=VALUE to add to the environment of a child whose
// leftovers this process's reaper owns.
func Env() string { return envPrefix + strconv.Itoa(os.Getpid()) + "=1" }
