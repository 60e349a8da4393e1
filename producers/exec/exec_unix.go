//go:build unix

package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	osexec "os/exec"
	"strings"
	"syscall"
	"time"
)

// run runs argv in its own process group, so a timeout kills the command
// and everything it started, and returns at most maxOutput bytes of its
// standard output. A failure carries the start of its standard error.
func run(ctx context.Context, argv []string) ([]byte, error) {
	cmd := osexec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr limitedBuffer
	stdout.max, stderr.max = maxOutput, 512
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild keeping the pipes open must not hold Collect.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
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
