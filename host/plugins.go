package host

import (
	"strings"
	"time"
)

// trimQuiet is how long after its start, a reload or a poll the host drops
// the pages of its executable it mapped meanwhile (see internal/trim).
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
// minute (docs/footprint.md). GOGC and GOMEMLIMIT are left alone: at this
// process's heap (about 2 MiB, under the runtime's 4 MiB minimum goal), a
// lower GOGC only ran the collector more often and did not lower its
// resident memory (host/README.md).
func sharedTuning() []string {
	return []string{"GOMAXPROCS=1"}
}

// sharedEnv is what the host adds to the environment of the process serving
// its built-in producers: sharedTuning, but a variable already in the host's
// environment env is left to it.
func sharedEnv(env []string) []string {
	var out []string
	for _, kv := range sharedTuning() {
		name, _, _ := strings.Cut(kv, "=")
		if !hasVar(env, name) {
			out = append(out, kv)
		}
	}
	return out
}

func hasVar(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
