package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/internal/furl"
)

// outputBlocks returns the gatherer.hcl output blocks of a comma-separated
// -output list, and the /metrics URL of a prometheus output in it.
func outputBlocks(list string) (hcl, scrape string, err error) {
	var b strings.Builder
	seen := map[string]bool{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if seen[name] {
			return "", "", fmt.Errorf("-output %q names %s twice", list, name)
		}
		seen[name] = true
		switch name {
		case "munin":
			b.WriteString("output \"munin\" { path = \"stats.json\" }\n")
		case "stdout":
			b.WriteString("output \"stdout\" { path = \"rounds.txt\" }\n")
		case "prometheus":
			addr, err := freeAddr()
			if err != nil {
				return "", "", err
			}
			fmt.Fprintf(&b, "output \"prometheus\" { listen = %q }\n", addr)
			scrape = "http://" + addr + "/metrics"
		case "none":
			if list != "none" {
				return "", "", fmt.Errorf("-output %q: none goes alone", list)
			}
			// The gatherer uses munin when no output is named: name a
			// no-op one instead by writing the stdout output to /dev/null.
			b.WriteString("output \"stdout\" { path = \"/dev/null\" }\n")
		default:
			return "", "", fmt.Errorf("-output %q: want munin, prometheus, stdout or none, comma-separated", list)
		}
	}
	return b.String(), scrape, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port for the prometheus output: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startGatherer creates a gatherer base directory and runs a gatherer in it.
func startGatherer(ctx context.Context, o options, stderr io.Writer) (target, error) {
	bin := o.statsherd
	if bin == "" {
		self, err := os.Executable()
		if err != nil {
			return target{}, err
		}
		bin = filepath.Join(filepath.Dir(self), "statsherd")
		if _, err := os.Stat(bin); err != nil {
			return target{}, fmt.Errorf("no statsherd next to this binary (%s); build it (make build) or give -statsherd", bin)
		}
	}
	out, scrape, err := outputBlocks(o.output)
	if err != nil {
		return target{}, err
	}
	dir := o.basedir
	cleanup := func() {}
	if dir == "" {
		d, err := os.MkdirTemp("", "statsherd-loadgen-*")
		if err != nil {
			return target{}, err
		}
		dir = filepath.Join(d, "gatherer")
		cleanup = func() { os.RemoveAll(d) }
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		cleanup()
		return target{}, err
	}
	hcl := fmt.Sprintf(`poll_interval  = %q
poll_timeout   = %q
output_timeout = "60s"
log_level      = "warn"
listen {
  address         = "127.0.0.1"
  location        = ["127.0.0.1"]
  max_connections = %d
  handshake_timeout = "30s"
}
status { listen = "127.0.0.1:0" }
%s`, o.interval.String(), (o.interval * 8 / 10).String(), o.expect+1000, out)
	if err := os.WriteFile(filepath.Join(dir, "gatherer.hcl"), []byte(hcl), 0o644); err != nil {
		cleanup()
		return target{}, err
	}
	cmd := exec.Command(bin, "gatherer", "-basedir", dir)
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	so, err := cmd.StdoutPipe()
	if err != nil {
		cleanup()
		return target{}, err
	}
	if err := cmd.Start(); err != nil {
		cleanup()
		return target{}, fmt.Errorf("starting the gatherer: %w", err)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		cleanup()
	}
	line, err := bufio.NewReader(so).ReadString('\n')
	go io.Copy(io.Discard, so)
	if err != nil {
		stop()
		return target{}, fmt.Errorf("the gatherer printed no furl: %w", err)
	}
	f, err := furl.Parse(line)
	if err != nil {
		stop()
		return target{}, err
	}
	var status string
	for i := 0; i < 100 && status == ""; i++ {
		b, _ := os.ReadFile(filepath.Join(dir, gatherer.StatusURLFile))
		status = strings.TrimSpace(string(b))
		if status == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if status == "" {
		stop()
		return target{}, errors.New("the gatherer wrote no status.url")
	}
	return target{furl: f, furlFile: filepath.Join(dir, gatherer.FurlFile), status: status, pid: cmd.Process.Pid,
		scrape: scrape, stop: stop}, ctx.Err()
}

func fetchStatus(ctx context.Context, url string) (gatherer.Status, error) {
	var s gatherer.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"?t=json&hosts=0", nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}
