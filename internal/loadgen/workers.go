package loadgen

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// startWorkers starts processes 1 to procs-1 of the load tool (this binary
// again, with -join), each running its share of the hosts against the
// gatherer of furlFile. They stop when the returned function closes their
// stdin, or when this process dies and its end of the pipe closes.
func startWorkers(o options, furlFile string, stderr io.Writer) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	type worker struct {
		cmd   *exec.Cmd
		stdin io.Closer
	}
	var ws []worker
	stop = func() {
		for _, w := range ws {
			w.stdin.Close()
		}
		for _, w := range ws {
			done := make(chan struct{})
			go func() { w.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				w.cmd.Process.Kill()
				<-done
			}
		}
	}
	first := o.first + o.share(0)
	for i := 1; i < o.procs; i++ {
		args := []string{"-join", "-until-stdin-eof", "-furl", furlFile,
			"-n", strconv.Itoa(o.share(i)), "-first", strconv.Itoa(first), "-k", strconv.Itoa(o.k), "-batch", strconv.Itoa(o.batch)}
		if o.keys != "" {
			args = append(args, "-keys", o.keys)
		}
		first += o.share(i)
		cmd := exec.Command(self, args...)
		cmd.Stdout, cmd.Stderr = stderr, stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			stop()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting load tool process %d: %w", i, err)
		}
		ws = append(ws, worker{cmd, in})
	}
	return stop, nil
}
