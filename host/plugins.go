package host

import (
	"strings"
	"time"

	"github.com/statsherd/statsherd/host/statsd"
	"github.com/statsherd/statsherd/internal/gctune"
)

// trimQuiet is how long after its start, a reload or a status page's poll
// the host drops the pages of its executable it mapped meanwhile (see
// internal/trim); a gatherer's poll that comes this long or more after the
// previous one drops them as soon as its answer is written
// (trim.Debounced.Polled), sparing the process a wake-up 10 s later.
// Between polls an idle host runs almost nothing: dropping a poll's pages
// costs the next poll their minor faults (about 240 a minute, 0.4–2 ms of
// CPU at a 60 s interval in our runs) and takes about 10 MiB off the mean
// RSS of the host and its built-ins' process (docs/footprint.md). A host
// polled more often than this keeps its pages and spends nothing on them.
const trimQuiet = 10 * time.Second

// sharedTuning is the runtime settings of the process serving the built-in
// producers: a process that holds little and answers a few small calls a
// minute needs one P. Each P costs memory (its caches, its GC worker): at
// GOMAXPROCS=32, as on a 32-core node by default, the process held about
// 2 MiB more. And each P costs idle CPU: load_monitor's wake-up every
// second, with a second P, woke a second thread to look for work each time;
// on 2 cores GOMAXPROCS=1 took the idle host from 11.4 to 8.2 ms of CPU a
// minute (docs/footprint.md). Its collector is tuned by the process itself
// (TuneShared), as the host's: GOGC and GOMEMLIMIT are not set for it.
func sharedTuning() []string {
	return []string{"GOMAXPROCS=1"}
}

// sharedTimerSlack is the timer slack of the process serving the built-in
// producers (supervisor.SharedOptions.TimerSlack): its runtime's monitor
// thread then wakes a few times in a poll's burst of work instead of every
// 70 µs, and a thread reading /proc keeps its P instead of handing it to
// another thread woken for it. Measured on an idle host polled every 60 s:
// sysmon's runs in a poll from about 20 to 7, the process's from 31 to 17
// (docs/footprint.md, "Idle CPU, fifth stop"). Its ticks (load_monitor,
// cpu_monitor) sleep on timerfds, which the slack does not delay.
const sharedTimerSlack = time.Millisecond

// gcPercent is the GC percent (GOGC) of the host and of the process serving
// its built-in producers. Their live heaps are small (about 2 and 1.5 MiB),
// under the runtime's minimum goal at GOGC=100 (4 MiB), so at 100 each
// heap grows to 4 MiB of garbage and live objects between collections, and
// an idle host, which allocates little, gets there only after tens of
// minutes: a run of 5 minutes did not see it. At 50 the minimum goal is
// 2 MiB: after the equivalent of an hour of polls the two processes held
// 1.5 MiB less anonymous memory for a collection every few minutes of
// a few hundred microseconds; 25 held no less than 50 (docs/footprint.md).
//
// Both processes keep gcPercent's heap goal without its GC percent: with
// a GC percent set the runtime also forces a collection every 2 minutes,
// most of an idle host's collections; a memory limit that follows the
// live heap (gctune.Limiter) gives the same goal with none forced.
const gcPercent = 50

// TuneSelf sets the host process's own runtime: gcPercent's heap goal by
// a following memory limit (TuneShared), switched to the plain GC percent
// while a statsd flood lasts, and one P while statsd is quiet
// (statsd.TuneProcs), unless env sets GOMAXPROCS: the operator's choice
// wins. restore puts back GOMAXPROCS and the collector's settings (a
// test's).
func TuneSelf(env []string) (restore func()) {
	gc := TuneShared(env)
	var flood func(bool)
	if gc != nil {
		flood = gc.Busy
	}
	restoreProcs := tuneStatsd(!gctune.EnvSets(env, "GOMAXPROCS"), flood)
	return func() {
		restoreProcs()
		gc.Stop()
	}
}

// tuneStatsd is statsd.Tune (a test's seam, to see the flood callback).
var tuneStatsd = statsd.Tune

// TuneShared sets the collector of the host, or of the process serving its
// built-in producers, from the environment env: with neither GOGC nor
// GOMEMLIMIT set, the GC percent off and a memory limit that follows the
// live heap, for gcPercent's heap goal without the runtime's forced
// collection every 2 minutes (gctune.Limiter); with the operator's GOGC
// or GOMEMLIMIT, those, and gcPercent if GOGC is not set. The Limiter is
// nil when the operator's settings are used.
func TuneShared(env []string) *gctune.Limiter {
	return gctune.TuneFromEnv(env, gcPercent)
}

// sharedEnv is what the host adds to the environment of the process serving
// its built-in producers: sharedTuning, but a variable already in the host's
// environment env is left to it.
func sharedEnv(env []string) []string {
	var out []string
	for _, kv := range sharedTuning() {
		name, _, _ := strings.Cut(kv, "=")
		if !gctune.EnvSets(env, name) {
			out = append(out, kv)
		}
	}
	return out
}
