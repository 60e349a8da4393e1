package supervisor

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// envMarker is set in every plugin's environment to the daemon's pid, and
// inherited by the plugin's descendants: it tells the reaper which of the
// processes re-parented to the daemon are plugins' leftovers.
const envMarker = "STATSHERD_SUPERVISOR_PID"

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER (linux/prctl.h).
const prSetChildSubreaper = 36

// children records, for the whole process, the plugin processes the
// supervisor started. It is process-wide because what it describes is:
// a process has one set of children and one subreaper flag.
var children = struct {
	// launching is held for reading while a plugin process starts and
	// until its pid is recorded, and for writing while the reaper looks
	// at the children, so a plugin just forked is never taken for an
	// orphan.
	launching sync.RWMutex

	mu sync.Mutex
	// live are plugin pids that os/exec has not yet waited for: the
	// reaper never touches them.
	live map[int]bool
	// groups are the process groups of plugins started (a plugin leads
	// its own group): a child in one of them is a plugin's orphan.
	groups map[int]bool
	// killed are orphans the reaper killed: once dead, their environment
	// cannot be read, but they are still its to reap.
	killed map[int]bool
}{live: map[int]bool{}, groups: map[int]bool{}, killed: map[int]bool{}}

func recordChild(pid int) {
	children.mu.Lock()
	children.live[pid] = true
	children.groups[pid] = true
	children.mu.Unlock()
}

// forgetChild is called once os/exec has waited for the plugin pid.
func forgetChild(pid int) {
	children.mu.Lock()
	delete(children.live, pid)
	children.mu.Unlock()
}

// Subreap makes this process the child subreaper of its descendants
// (prctl PR_SET_CHILD_SUBREAPER): a process a plugin started that outlives
// its parent, even one that left the plugin's process group or session,
// is re-parented to this process instead of init. Until ctx is done,
// every such orphan is killed (SIGKILL) and reaped when a child exits
// (SIGCHLD). The sweep it returns does the same at once, repeating until
// none is left (at most a few seconds): a daemon calls it after stopping
// its plugins. Only orphans of plugins are touched: children whose process
// group is a plugin's, or whose environment carries this daemon's marker.
func Subreap(ctx context.Context, log hclog.Logger) (sweep func()) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		log.Warn("cannot become the subreaper of plugin processes; a process a plugin starts and leaves behind may outlive it", "error", e)
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigs:
				reapOrphans(log)
			}
		}
	}()
	return func() {
		for i := 0; i < 300 && reapOrphans(log) > 0; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// reapOrphans kills the plugins' orphans among this process's children and
// reaps those already dead. It returns how many it found.
func reapOrphans(log hclog.Logger) int {
	children.launching.Lock()
	defer children.launching.Unlock()
	self := os.Getpid()
	marker := []byte(envMarker + "=" + strconv.Itoa(self) + "\x00")
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	found, nkilled := 0, 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, ppid, pgid, ok := procStat(pid)
		if !ok || ppid != self {
			continue
		}
		children.mu.Lock()
		live, group, killed := children.live[pid], children.groups[pgid], children.killed[pid]
		children.mu.Unlock()
		if live {
			continue
		}
		if !group && !killed {
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, marker...)) {
				continue
			}
		}
		found++
		if state == 'Z' {
			var ws syscall.WaitStatus
			if n, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); n == pid {
				children.mu.Lock()
				delete(children.killed, pid)
				children.mu.Unlock()
			}
			continue
		}
		if pgid == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		children.mu.Lock()
		children.killed[pid] = true
		if pgid == pid {
			// Its group's members, killed with it, are re-parented
			// here once it is dead: they are orphans to reap too.
			children.groups[pid] = true
		}
		children.mu.Unlock()
		nkilled++
	}
	if nkilled > 0 {
		log.Info("killed processes left behind by plugins", "count", nkilled)
	}
	return found
}

// procStat reads the state, parent and process group of pid from
// /proc/PID/stat.
func procStat(pid int) (state byte, ppid, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, 0, false
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 3 || len(f[0]) != 1 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(string(f[1]))
	pgid, err2 := strconv.Atoi(string(f[2]))
	return f[0][0], ppid, pgid, err1 == nil && err2 == nil
}
