package reaper

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

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER (linux/prctl.h).
const prSetChildSubreaper = 36

// children is the process's: see the package comment.
var children = struct {
	// launching is held for reading while a child starts and until its
	// pid is recorded, and for writing while a reaper looks at the
	// children, so a child just forked is never taken for an orphan.
	launching sync.RWMutex

	mu sync.Mutex
	// live are children that os/exec has not yet waited for.
	live map[int]bool
	// groups are the process groups of children launched (each leads its
	// own): a child in one of them is an orphan.
	groups map[int]bool
	// killed are orphans killed: once dead, their environment cannot be
	// read, but they are still the reaper's to reap.
	killed map[int]bool
}{live: map[int]bool{}, groups: map[int]bool{}, killed: map[int]bool{}}

// Launch runs start, which starts one child (os/exec's Cmd.Start, or a
// go-plugin client's) and returns its pid (0 if none started), recording
// the child as live until Waited, and its process group as one whose
// orphans are the reaper's.
func Launch(start func() (pid int, err error)) error {
	children.launching.RLock()
	defer children.launching.RUnlock()
	pid, err := start()
	if pid > 0 {
		children.mu.Lock()
		children.live[pid] = true
		children.groups[pid] = true
		children.mu.Unlock()
	}
	return err
}

// Waited is called once os/exec has waited for the child pid.
func Waited(pid int) {
	children.mu.Lock()
	delete(children.live, pid)
	children.mu.Unlock()
}

// Start makes this process the child subreaper of its descendants and,
// until ctx is done, kills and reaps its orphans at every SIGCHLD. The
// sweep it returns does the same at once, repeating until none is left
// (at most a few seconds): a daemon calls it after stopping its plugins.
func Start(ctx context.Context, log hclog.Logger) (sweep func()) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		log.Warn("cannot become the subreaper of child processes; a process a child starts and leaves behind may outlive it", "error", e)
	}
	owned := []byte(Env() + "\x00")
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	go func() {
		defer signal.Stop(sigs)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sigs:
				if _, n := reap(owned, true, 0); n > 0 {
					log.Info("killed processes left behind", "count", n)
				}
			}
		}
	}()
	return func() {
		for i := 0; i < 300; i++ {
			if found, _ := reap(owned, true, 0); found == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// End ends what a child left behind once os/exec has waited for it: every
// process of the process group group (the child led it; 0: none) and every
// process whose environment carries mark (a NAME=VALUE the caller gave the
// child), wherever it runs. It kills them, reaps those that die here, and
// repeats while killing them re-parents their own children, returning once
// none is left (at most a second or two), so that nothing the child
// started outlives the call and no zombie waits for the next SIGCHLD.
// Children still live (not Waited) are left alone.
func End(group int, mark string) {
	want := []byte(mark + "\x00")
	if group > 0 {
		_ = syscall.Kill(-group, syscall.SIGKILL)
	}
	for i := 0; i < 200; i++ {
		if found, _ := reap(want, false, group); found == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// reap kills the orphans carrying marker (NAME=VALUE\x00) among this
// process's children — or, with childrenOnly false, among every process
// this one may signal — and reaps its own dead ones. With childrenOnly,
// children in a launched group are orphans too; so, always, is every
// process of the group end (0: none), wherever it runs. It returns how
// many it found (killed, or dead and still to reap), so callers repeat
// until 0, and how many of them it killed.
func reap(marker []byte, childrenOnly bool, end int) (found, killed int) {
	children.launching.Lock()
	defer children.launching.Unlock()
	self := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0
	}
	seen := map[int]bool{} // pids, and process groups as -pgid
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		state, ppid, pgid, ok := ProcStat(pid)
		if !ok {
			continue
		}
		seen[pid], seen[-pgid] = true, true
		child := ppid == self
		if childrenOnly && !child {
			continue
		}
		children.mu.Lock()
		live, group, dead := children.live[pid], children.groups[pgid], children.killed[pid]
		children.mu.Unlock()
		if live {
			continue
		}
		inEnd := end > 0 && pgid == end
		if !dead && !inEnd && !(childrenOnly && group) {
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if child && err == nil && len(env) == 0 && state != 'Z' {
				// In the middle of an execve (a setsid(1), a shell
				// exec'ing its command) the kernel shows no environment
				// for a moment: look again rather than miss it.
				found++
				continue
			}
			if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, marker...)) {
				continue
			}
		}
		if state == 'Z' {
			if !child {
				if inEnd {
					found++ // its parent is being killed: it comes here next
				}
				continue // its parent's to reap; killed, it may come here
			}
			found++
			var ws syscall.WaitStatus
			if n, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); n == pid {
				children.mu.Lock()
				delete(children.killed, pid)
				children.mu.Unlock()
			}
			continue
		}
		found++
		if pgid == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		killed++
		children.mu.Lock()
		// Once dead its environment cannot be read: remember it, so that
		// if it comes here to be reaped (its parent gone), it is.
		children.killed[pid] = true
		if pgid == pid {
			// Its group's members, killed with it, are re-parented here
			// once it is dead: orphans to reap too.
			children.groups[pid] = true
		}
		children.mu.Unlock()
	}
	children.mu.Lock()
	for pid := range children.killed {
		if !seen[pid] {
			delete(children.killed, pid) // reaped by its parent
		}
	}
	for pgid := range children.groups {
		if !seen[-pgid] && !children.live[pgid] {
			delete(children.groups, pgid) // no process is left in it
		}
	}
	children.mu.Unlock()
	return found, killed
}

// ProcStat reads the state, parent and process group of pid from
// /proc/PID/stat.
func ProcStat(pid int) (state byte, ppid, pgid int, ok bool) {
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
