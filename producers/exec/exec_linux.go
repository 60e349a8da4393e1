package exec

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
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

// killOrphans kills and reaps the children of this process that carry the
// run's marker, repeating while killing them re-parents their own children
// here (at most a second).
func killOrphans(marker string) {
	want := []byte("\x00" + marker + "\x00")
	self := os.Getpid()
	for range 100 {
		var found []int
		ents, err := os.ReadDir("/proc")
		if err != nil {
			return
		}
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || parentOf(pid) != self {
				continue
			}
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err != nil || !bytes.Contains(append([]byte{0}, env...), want) {
				continue
			}
			found = append(found, pid)
		}
		if len(found) == 0 {
			return
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

// parentOf is the parent pid of pid, from /proc/PID/stat, or -1.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return -1
	}
	return ppid
}
