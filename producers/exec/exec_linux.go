package exec

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	osexec "os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER (linux/prctl.h).
const prSetChildSubreaper = 36

// becomeSubreaper makes this process the subreaper of its descendants: a
// process a command starts and leaves behind, even outside the command's
// process group or session (setsid, a double fork), is re-parented here
// when its parent exits, instead of to init, so killOrphans finds it.
func becomeSubreaper() error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return e
	}
	return nil
}

func procAttr() *syscall.SysProcAttr {
	// Pdeathsig: the command dies with this plugin, even on SIGKILL.
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// running are the commands this process is running (their pids): they
// are os/exec's to wait for, never the reaper's.
var running = struct {
	sync.Mutex
	pids map[int]bool
}{pids: map[int]bool{}}

// startCmd starts cmd and records it running, at once, so the reaper never
// takes it for an orphan (and waits for it in os/exec's place).
func startCmd(cmd *osexec.Cmd) error {
	running.Lock()
	defer running.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	running.pids[cmd.Process.Pid] = true
	return nil
}

func waited(pid int) {
	running.Lock()
	delete(running.pids, pid)
	running.Unlock()
}

// killOrphans kills and reaps the children of this process that carry the
// run's marker, repeating while killing them re-parents their own children
// here (at most a second). It also reaps every other dead child but the
// commands still running: the orphans of this and earlier runs that died
// (their process group killed) after being re-parented here.
func killOrphans(marker string) {
	want := []byte("\x00" + marker + "\x00")
	self := os.Getpid()
	for range 100 {
		var found []int
		unsure := 0 // children whose environment could not be read yet
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			state, ppid := procState(pid)
			if ppid != self {
				continue
			}
			if state == 'Z' {
				running.Lock()
				mine := running.pids[pid]
				running.Unlock()
				if !mine {
					var ws syscall.WaitStatus
					_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
				}
				continue
			}
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err == nil && len(env) == 0 || err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
				// In the middle of an execve (a setsid(1) or a shell
				// exec'ing its command) the kernel shows no environment
				// for a moment: look again rather than miss it.
				running.Lock()
				mine := running.pids[pid]
				running.Unlock()
				if !mine {
					unsure++
				}
				continue
			}
			if err != nil || !bytes.Contains(append([]byte{0}, env...), want) {
				continue
			}
			found = append(found, pid)
		}
		if len(found) == 0 {
			if unsure == 0 {
				return
			}
			time.Sleep(time.Millisecond)
			continue
		}
		for _, pid := range found {
			_ = syscall.Kill(-pid, syscall.SIGKILL) // if it leads a group
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, pid := range found {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
		}
	}
}

// procState is the state and parent pid of pid, from /proc/PID/stat, or
// (0, -1).
func procState(pid int) (byte, int) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, -1
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, -1
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, -1
	}
	return f[0][0], ppid
}
