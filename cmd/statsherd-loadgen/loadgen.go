package main

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/sdk"
)

type options struct {
	n, k, rounds, batch int
	interval            time.Duration
	statsherd, basedir  string
	output              string
	keys                string
	furlFile, status    string
	pid                 int
	attack              string
	attackFor           time.Duration
	maxConnections      int
	gathererLog         string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("statsherd-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.n, "n", 100, "simulated hosts")
	fs.IntVar(&o.k, "k", 100, "stats per host (half counters, half stats)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds to measure once every host is connected")
	fs.IntVar(&o.batch, "batch", 500, "hosts started at once while connecting")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "the gatherer's poll_interval (when this tool runs the gatherer)")
	fs.StringVar(&o.statsherd, "statsherd", "", "the statsherd binary (default: next to this one)")
	fs.StringVar(&o.basedir, "basedir", "", "gatherer base directory (default: a temporary one, removed at exit)")
	fs.StringVar(&o.output, "output", "munin", "the gatherer's output: munin, stdout (to a file) or none")
	fs.StringVar(&o.keys, "keys", "", "directory caching the simulated hosts' keys (default: keys are made anew)")
	fs.StringVar(&o.furlFile, "furl", "", "use the running gatherer of this furl file instead of starting one")
	fs.StringVar(&o.status, "status", "", "with -furl: the gatherer's status page URL")
	fs.IntVar(&o.pid, "pid", 0, "with -furl: the gatherer's process id, for its memory")
	fs.StringVar(&o.attack, "attack", "", "once the hosts are connected, run an attack and measure before and during: bigkeys, preauth, idle, dupkey, unsolicited, negative")
	fs.DurationVar(&o.attackFor, "attack-for", 30*time.Second, "how long to measure before and during the attack")
	fs.IntVar(&o.maxConnections, "max-connections", 0, "the gatherer's listen.max_connections (default: hosts + 1000)")
	fs.StringVar(&o.gathererLog, "gatherer-log", "", "write the gatherer's log to this file (default: stderr, or nowhere with -attack)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if n, err := gatherer.RaiseFileLimit(); err == nil && n > 0 && uint64(o.n)+100 > n {
		fmt.Fprintf(stderr, "warning: open file limit %d is below %d hosts; raise it (ulimit -n)\n", n, o.n)
	}
	if err := loadgen(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "statsherd-loadgen: %v\n", err)
		return 1
	}
	return 0
}

// target is the gatherer under load.
type target struct {
	furl    furl.FURL
	status  string
	pid     int
	basedir string
	stop    func()
}

func loadgen(ctx context.Context, o options, stdout, stderr io.Writer) error {
	var t target
	var err error
	logs := &logCounter{}
	if o.attack == "" {
		logs.w = stderr
	}
	if o.gathererLog != "" {
		f, err := os.Create(o.gathererLog)
		if err != nil {
			return err
		}
		defer f.Close()
		logs.w = f
	}
	if o.furlFile != "" {
		t.furl, err = furl.ReadFile(o.furlFile)
		if err != nil {
			return err
		}
		t.status, t.pid, t.stop = strings.TrimSpace(o.status), o.pid, func() {}
		if t.status == "" {
			return errors.New("with -furl, give -status URL")
		}
	} else {
		t, err = startGatherer(ctx, o, logs)
		if err != nil {
			return err
		}
	}
	defer t.stop()

	start := time.Now()
	ids, err := loadIdentities(o.keys, o.n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "keys: %d in %v\n", o.n, time.Since(start).Round(time.Millisecond))

	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	links := make([]*link.Link, o.n)
	start = time.Now()
	for i := range o.n {
		l, err := link.New(link.Config{
			Furl: t.furl, Identity: ids[i], Nickname: fmt.Sprintf("loadgen-%05d", i),
			Versions: map[string]string{"statsherd-loadgen": "1"},
			Poll:     newSimHost(o.k).poll,
			// A slow start under load is retried soon.
			MinBackoff: 500 * time.Millisecond, MaxBackoff: 5 * time.Second, HandshakeTimeout: 30 * time.Second,
		})
		if err != nil {
			return err
		}
		links[i] = l
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(hctx) }()
		if (i+1)%o.batch == 0 || i == o.n-1 {
			// Let this batch connect before starting the next.
			if err := waitConnected(ctx, links[:i+1], i+1, time.Minute); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "hosts: %d connected in %v\n", o.n, time.Since(start).Round(time.Millisecond))
	if o.attack != "" {
		return runAttack(ctx, o, t, logs, stdout)
	}

	fmt.Fprintf(stdout, "%-6s %8s %9s %12s %14s %12s %12s %12s\n", "round", "answers", "failures", "poll_s", "polls+write_s", "rss_MiB", "peak_MiB", "outputs_MiB")
	var last uint64
	measured := 0
	deadline := time.Now().Add(time.Duration(o.rounds+3)*max(o.interval, time.Second) + 2*time.Minute)
	for measured < o.rounds {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d rounds measured", measured, o.rounds)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		st, err := fetchStatus(ctx, t.status)
		if err != nil {
			continue
		}
		r := st.LastRound
		// Wait until the round is both polled and written everywhere.
		if r.Seq == 0 || r.Seq <= last || r.WrittenSeq < r.Seq {
			continue
		}
		last = r.Seq
		if r.Answers < o.n {
			fmt.Fprintf(stdout, "(round %d: %d answers, still settling)\n", r.Seq, r.Answers)
			continue
		}
		measured++
		rss, peak := memOf(t.pid)
		var kids int64
		for _, c := range children(t.pid) {
			r, _ := memOf(c)
			kids += r
		}
		fmt.Fprintf(stdout, "%-6d %8d %9d %12.3f %14.3f %12.1f %12.1f %12.1f\n", r.Seq, r.Answers, r.Failures, r.PollSeconds, r.TotalSeconds,
			mib(rss), mib(peak), mib(kids))
	}
	return nil
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// simHost is one simulated host's stats.
type simHost struct {
	mu    sync.Mutex
	n     int64
	names []string
}

func newSimHost(k int) *simHost {
	h := &simHost{}
	for i := range k {
		kind := "counter"
		if i%2 == 1 {
			kind = "stat"
		}
		h.names = append(h.names, fmt.Sprintf("loadgen.%s_%03d", kind, i))
	}
	return h
}

func (h *simHost) poll(context.Context) sdk.Stats {
	h.mu.Lock()
	h.n++
	n := h.n
	h.mu.Unlock()
	st := sdk.Stats{Counters: make(map[string]int64, len(h.names)/2+1), Stats: make(map[string]sdk.Value, len(h.names)/2+1)}
	for i, name := range h.names {
		if i%2 == 0 {
			st.Counters[name] = n * int64(i+1)
		} else {
			st.Stats[name] = sdk.Float(float64(n) / float64(i+1))
		}
	}
	return st
}

func waitConnected(ctx context.Context, links []*link.Link, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n := 0
		for _, l := range links {
			if l.Status().Connected {
				n++
			}
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d hosts connected after %v", n, want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// loadIdentities returns n identities, reading and extending the key
// cache in dir if given. Keys are made concurrently.
func loadIdentities(dir string, n int) ([]*identity.Identity, error) {
	var keys [][]byte
	cache := ""
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		cache = filepath.Join(dir, "keys.pem")
		b, err := os.ReadFile(cache)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		for len(keys) < n {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			keys = append(keys, pem.EncodeToMemory(blk))
		}
	}
	have := len(keys)
	keys = append(keys, make([][]byte, n-have)...)
	ids := make([]*identity.Identity, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var err error
				if keys[i] == nil {
					keys[i], err = identity.NewKeyPEM()
				}
				if err == nil {
					ids[i], err = identity.FromKeyPEM(keys[i])
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if cache != "" && n > have {
		f, err := os.OpenFile(cache, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		w := bufio.NewWriter(f)
		for _, k := range keys[have:] {
			w.Write(k)
		}
		err = w.Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("key cache: %w", err)
		}
	}
	return ids, nil
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
	outputs := map[string]string{
		"munin":  "output \"munin\" { path = \"stats.json\" }\n",
		"stdout": "output \"stdout\" { path = \"rounds.txt\" }\n",
		"none":   "",
	}
	out, ok := outputs[o.output]
	if !ok {
		cleanup()
		return target{}, fmt.Errorf("-output %q: want munin, stdout or none", o.output)
	}
	if o.output == "none" {
		// The gatherer uses munin when no output is named: name a no-op
		// one instead by writing the stdout output to /dev/null.
		out = "output \"stdout\" { path = \"/dev/null\" }\n"
	}
	level, maxConns, hsTimeout := "warn", o.n+1000, "30s"
	if o.attack != "" {
		level, hsTimeout = "info", "10s" // as an operator runs it
	}
	if o.maxConnections > 0 {
		maxConns = o.maxConnections
	}
	// All simulated hosts come from 127.0.0.1: let them handshake at
	// once, as hosts from many addresses would (not under -attack, which
	// measures the defaults).
	limits := "limits {\n  max_handshakes             = 1000\n  max_handshakes_per_address = 1000\n}\n"
	if o.attack != "" {
		limits = ""
	}
	hcl := fmt.Sprintf(`poll_interval  = %q
poll_timeout   = %q
output_timeout = "60s"
log_level      = %q
listen {
  address         = "127.0.0.1"
  location        = ["127.0.0.1"]
  max_connections = %d
  handshake_timeout = %q
}
status { listen = "127.0.0.1:0" }
%s%s`, o.interval.String(), (o.interval * 8 / 10).String(), level, maxConns, hsTimeout, limits, out)
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
	return target{furl: f, status: status, pid: cmd.Process.Pid, basedir: dir, stop: stop}, ctx.Err()
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

// memOf returns the resident and peak resident memory of a process, in
// bytes (0 if unknown).
func memOf(pid int) (rss, peak int64) {
	if pid <= 0 {
		return 0, 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak
}

// children lists the child processes of pid (the output plugins).
func children(pid int) []int {
	if pid <= 0 {
		return nil
	}
	var out []int
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}
