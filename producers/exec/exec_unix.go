//go:build unix

package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/statsherd/statsherd/internal/reaper"
)

// runs numbers the commands run, for their marker.
var runs atomic.Int64

// run runs argv in its own process group and returns at most maxOutput
// bytes of its standard output. A failure carries the start of its
// standard error. Nothing the command started outlives the call: when it
// exits (or at the timeout) its whole process group is killed, and so is
// every process it started that left the group (its run's marker finds
// them; internal/reaper, started by the process serving this plugin,
// reaps those re-parented here).
func run(ctx context.Context, argv []string) ([]byte, error) {
	cmd := osexec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, 512
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The marker, inherited by every descendant, tells this command's
	// orphans from anything else re-parented to this process.
	marker := fmt.Sprintf("%s=%d.%d", envRun, os.Getpid(), runs.Add(1))
	cmd.Env = append(os.Environ(), marker, reaper.Env())
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild keeping the pipes open must not hold Collect.
	cmd.WaitDelay = time.Second
	err := reaper.Launch(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	})
	group := 0
	if err == nil {
		err = cmd.Wait()
		group = cmd.Process.Pid
		reaper.Waited(group)
	}
	reaper.End(group, marker)
	if ctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("killed after the timeout: %w", ctx.Err())
	}
	var exit *osexec.ExitError
	if errors.As(err, &exit) {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return stdout.Bytes(), fmt.Errorf("%w: %s", err, firstLine(msg))
		}
	}
	return stdout.Bytes(), err
}

// envRun is the environment variable that marks the processes of one run.
const envRun = "STATSHERD_EXEC_RUN"

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// limitedBuffer keeps the first max bytes written and drops the rest
// (still reporting them written, so the command is not killed by EPIPE).
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
