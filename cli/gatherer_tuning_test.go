package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/statsherd/statsherd/internal/testbin"
)

// outputPluginEnv starts a gatherer (default configuration: the munin
// output) with env, waits for its output plugin's process and returns that
// process's GOGC settings.
func outputPluginEnv(t *testing.T, env []string) []string {
	t.Helper()
	dir := quietGathererDir(t)
	cmd := exec.Command(statsherd, "gatherer", "-basedir", dir)
	cmd.Env = env
	stderr := &testbin.Buffer{}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for i := 0; ; i++ {
		if pid := childServing(cmd.Process.Pid, "output"); pid != 0 {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
			if err != nil {
				t.Fatalf("reading the output plugin's environment: %v", err)
			}
			var gogc []string
			for _, kv := range strings.Split(string(b), "\x00") {
				if strings.HasPrefix(kv, "GOGC=") {
					gogc = append(gogc, kv)
				}
			}
			return gogc
		}
		if i == 600 {
			t.Fatalf("no output plugin process under the gatherer in 60 s:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// childServing is the process id of a child of ppid running
// `statsherd plugin serve KIND ...`, 0 if none.
func childServing(ppid int, kind string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: state, ppid.
		i := bytes.LastIndexByte(stat, ')')
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		args := strings.Split(string(cmdline), "\x00")
		if len(args) >= 4 && args[1] == "plugin" && args[2] == "serve" && args[3] == kind {
			return pid
		}
	}
	return 0
}

func withoutGOGC() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GOGC=") })
}

// TestGathererTunesItsOutputs: the built-in output plugins run with the
// gatherer's GOGC default, and an operator's GOGC wins over it.
func TestGathererTunesItsOutputs(t *testing.T) {
	t.Parallel()
	if got := outputPluginEnv(t, withoutGOGC()); !slices.Equal(got, []string{"GOGC=25"}) {
		t.Errorf("output plugin's GOGC settings = %q, want [GOGC=25]", got)
	}
	if got := outputPluginEnv(t, append(withoutGOGC(), "GOGC=200")); !slices.Equal(got, []string{"GOGC=200"}) {
		t.Errorf("with the operator's GOGC=200, output plugin's GOGC settings = %q, want [GOGC=200] alone", got)
	}
}
