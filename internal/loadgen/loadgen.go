package loadgen

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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/statsherd/statsherd/gatherer"
	"github.com/statsherd/statsherd/gatherer/basedir"
	"github.com/statsherd/statsherd/internal/furl"
	"github.com/statsherd/statsherd/internal/identity"
	"github.com/statsherd/statsherd/internal/link"
	"github.com/statsherd/statsherd/sdk"
)

type options struct {
	procs, first, expect int // several load tool processes
	join, untilEOF       bool
	scrape               string

	n, k, rounds, batch int
	settle              int
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
	heapProfiles        string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "targets" {
		return serveTargets(ctx, args[1:], stdout, stderr)
	}
	var o options
	fs := flag.NewFlagSet("statsherd-loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.procs, "procs", 1, "load tool processes running the -n hosts: this one and procs-1 more it starts")
	fs.IntVar(&o.first, "first", 0, "index of this process's first host (nickname, -keys entry), so that processes differ")
	fs.IntVar(&o.expect, "expect", 0, "answers per round once every host is in (default -n; more with -join processes elsewhere)")
	fs.BoolVar(&o.join, "join", false, "with -furl: only run this process's hosts, measuring nothing, until interrupted")
	fs.BoolVar(&o.untilEOF, "until-stdin-eof", false, "with -join: also stop when stdin closes (how -procs ends its processes)")
	fs.StringVar(&o.scrape, "scrape", "", "a prometheus output's /metrics URL to scrape after each round (automatic with -output prometheus)")
	fs.IntVar(&o.n, "n", 100, "simulated hosts (in all, shared by the -procs processes)")
	fs.IntVar(&o.k, "k", 100, "stats per host (half counters, half stats)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds to measure once every host is connected")
	fs.IntVar(&o.settle, "settle", 1, "complete rounds not measured first, once every host is connected: the first carries the hosts' connections and the daemons' start-up (their pages dropped 10 s in)")
	fs.IntVar(&o.batch, "batch", 500, "hosts started at once while connecting (per process)")
	fs.DurationVar(&o.interval, "interval", 5*time.Second, "the gatherer's poll_interval (when this tool runs the gatherer)")
	fs.StringVar(&o.statsherd, "statsherd", "", "the statsherd binary (default: next to this one)")
	fs.StringVar(&o.basedir, "basedir", "", "gatherer base directory (default: a temporary one, removed at exit)")
	fs.StringVar(&o.output, "output", "munin", "the gatherer's outputs, comma-separated: munin, prometheus, stdout (to a file) or none")
	fs.StringVar(&o.keys, "keys", "", "directory caching the simulated hosts' keys (default: keys are made anew)")
	fs.StringVar(&o.furlFile, "furl", "", "use the running gatherer of this furl file instead of starting one")
	fs.StringVar(&o.status, "status", "", "with -furl: the gatherer's status page URL")
	fs.IntVar(&o.pid, "pid", 0, "with -furl: the gatherer's process id, for its memory")
	fs.StringVar(&o.attack, "attack", "", "once the hosts are connected, run an attack and measure before and during: bigkeys, preauth, idle, dupkey, unsolicited, negative, slowanswer, freshkeys")
	fs.DurationVar(&o.attackFor, "attack-for", 30*time.Second, "how long to measure before and during the attack")
	fs.IntVar(&o.maxConnections, "max-connections", 0, "the gatherer's listen.max_connections (default: hosts + 1000)")
	fs.StringVar(&o.heapProfiles, "heap-profiles", "", "write the gatherer's heap profile after each measured round into this directory (heap-roundN.pb.gz, for go tool pprof), through its status page's pprof")
	fs.StringVar(&o.gathererLog, "gatherer-log", "", "write the gatherer's log to this file (default: stderr, or nowhere with -attack)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "statsherd-loadgen: %v\n", err)
		return 2
	}
	if n, err := gatherer.RaiseFileLimit(); err == nil && n > 0 && uint64(o.share(0))+100 > n {
		fmt.Fprintf(stderr, "warning: open file limit %d is below %d hosts in this process; raise it (ulimit -n) or use -procs\n", n, o.share(0))
	}
	var err error
	if o.join {
		err = join(ctx, o, stdout)
	} else {
		err = loadgen(ctx, o, stdout, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "statsherd-loadgen: %v\n", err)
		return 1
	}
	return 0
}

func (o *options) check() error {
	switch {
	case o.n < 1 || o.k < 0 || o.batch < 1 || o.rounds < 0 || o.settle < 0:
		return errors.New("-n and -batch must be at least 1, -k, -rounds and -settle at least 0")
	case o.procs < 1 || o.procs > o.n:
		return fmt.Errorf("-procs %d: want 1 to -n (%d)", o.procs, o.n)
	case o.first < 0:
		return errors.New("-first must not be negative")
	case o.join && o.furlFile == "":
		return errors.New("-join needs -furl: the gatherer to join")
	case o.join && o.procs != 1:
		return errors.New("-join runs one process: give -procs to the measuring process")
	case o.untilEOF && !o.join:
		return errors.New("-until-stdin-eof goes with -join")
	}
	if o.expect == 0 {
		o.expect = o.n
	}
	return nil
}

// share is the number of hosts process i of -procs runs.
func (o *options) share(i int) int {
	s := o.n / o.procs
	if i < o.n%o.procs {
		s++
	}
	return s
}

// target is the gatherer under load.
type target struct {
	furl     furl.FURL
	furlFile string
	status   string
	pid      int
	basedir  string
	scrape   string
	stop     func()
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
		t.furlFile, t.status, t.pid, t.stop = o.furlFile, strings.TrimSpace(o.status), o.pid, func() {}
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
	if o.scrape != "" {
		t.scrape = o.scrape
	}

	start := time.Now()
	// With a -keys cache, every process's keys are made here, so that the
	// other processes only read the cache; without, each makes its own.
	n := o.share(0)
	if o.keys != "" {
		n = o.n
	}
	ids, err := loadIdentities(o.keys, o.first, n)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "keys: %d in %v\n", len(ids), time.Since(start).Round(time.Millisecond))
	ids = ids[:o.share(0)]

	hctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start = time.Now()
	if o.procs > 1 {
		stopWorkers, err := startWorkers(o, t.furlFile, stderr)
		if err != nil {
			return err
		}
		defer stopWorkers()
	}
	if err := runHosts(hctx, &wg, o, t.furl, ids, o.first); err != nil {
		return err
	}
	if err := waitHosts(ctx, t.status, o.expect, time.Minute+time.Duration(o.expect)*10*time.Millisecond); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hosts: %d connected in %v (%d processes)\n", o.expect, time.Since(start).Round(time.Millisecond), o.procs)
	if o.attack != "" {
		return runAttack(ctx, o, t, logs, stdout)
	}
	return measureRounds(ctx, o, t, stdout)
}

// join runs this process's hosts against a running gatherer until ctx is
// done (or stdin closes, with -until-stdin-eof).
func join(ctx context.Context, o options, stdout io.Writer) error {
	f, err := furl.ReadFile(o.furlFile)
	if err != nil {
		return err
	}
	ids, err := loadIdentities(o.keys, o.first, o.n)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.untilEOF {
		go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	start := time.Now()
	if err := runHosts(ctx, &wg, o, f, ids, o.first); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	fmt.Fprintf(stdout, "joined: hosts %d to %d connected in %v\n", o.first, o.first+o.n-1, time.Since(start).Round(time.Millisecond))
	<-ctx.Done()
	return nil
}

// runHosts starts a simulated host for every identity, batch by batch,
// each batch connected before the next starts.
func runHosts(ctx context.Context, wg *sync.WaitGroup, o options, f furl.FURL, ids []*identity.Identity, first int) error {
	links := make([]*link.Link, len(ids))
	for i := range ids {
		l, err := link.New(link.Config{
			Furl: f, Identity: ids[i], Nickname: fmt.Sprintf("loadgen-%05d", first+i),
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
		go func() { defer wg.Done(); l.Run(ctx) }()
		if (i+1)%o.batch == 0 || i == len(ids)-1 {
			if err := waitConnected(ctx, links[:i+1], i+1, time.Minute); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitHosts waits until the gatherer has want hosts connected (those of
// every load tool process).
func waitHosts(ctx context.Context, status string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var have int
	for {
		if st, err := fetchStatus(ctx, status); err == nil {
			if have = st.HostsConnected; have >= want {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gatherer has %d of %d hosts connected after %v", have, want, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// measureRounds prints one line for each of o.rounds complete rounds.
func measureRounds(ctx context.Context, o options, t target, stdout io.Writer) error {
	tw := newTable(stdout, t.scrape != "")
	tw.header()
	var last uint64
	prev := readTree(t.pid)
	// Each line's peaks are those since the line before: the round's.
	if !prev.resetPeaks() {
		fmt.Fprintln(stdout, "(peak RSS cannot be reset here: the peaks are since each process started)")
	}
	measured, settled := 0, 0
	deadline := time.Now().Add(time.Duration(o.settle+o.rounds+3)*max(o.interval, time.Second) + 2*time.Minute)
	// quietUntil: the status page is left alone until shortly before the
	// next round can end. Each look costs the gatherer a walk over the
	// fleet (its JSON carries the fleet's first page), and five looks a
	// second were most of the CPU measured for it at 1,000 hosts.
	var quietUntil time.Time
	for measured < o.rounds {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d rounds measured", measured, o.rounds)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(200*time.Millisecond, time.Until(quietUntil))):
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
		if every := time.Duration(st.PollInterval * float64(time.Second)); every > 2*time.Second && !r.Time.IsZero() {
			quietUntil = r.Time.Add(every - time.Second)
		}
		if r.Answers < o.expect {
			fmt.Fprintf(stdout, "(round %d: %d answers, still settling)\n", r.Seq, r.Answers)
			prev = readTree(t.pid)
			prev.resetPeaks()
			continue
		}
		// The first complete round's CPU carries the hosts' connections,
		// and its peak the pages of the daemons' start-up, mapped until
		// they drop them 10 s in (the peaks were reset before).
		if settled < o.settle {
			settled++
			fmt.Fprintf(stdout, "(round %d: %d answers, not measured: settling, %d of %d)\n", r.Seq, r.Answers, settled, o.settle)
			prev = readTree(t.pid)
			prev.resetPeaks()
			continue
		}
		measured++
		row := row{round: r, tree: readTree(t.pid), prev: prev}
		if t.scrape != "" {
			row.scrape = scrapeOnce(ctx, t.scrape, t.pid)
			row.tree = readTree(t.pid)
		}
		prev = row.tree
		prev.resetPeaks()
		tw.print(row)
		if o.heapProfiles != "" {
			if err := saveHeapProfile(ctx, t.status, filepath.Join(o.heapProfiles, fmt.Sprintf("heap-round%d.pb.gz", r.Seq))); err != nil {
				fmt.Fprintf(stdout, "(heap profile of round %d: %v)\n", r.Seq, err)
			}
		}
	}
	return nil
}

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

// loadIdentities returns the identities of hosts first to first+n-1,
// reading and extending the key cache in dir if given. Keys are made
// concurrently. Processes sharing a cache must not extend it at once: the
// measuring process fills it for all before it starts the others.
func loadIdentities(dir string, first, n int) ([]*identity.Identity, error) {
	var keys [][]byte
	cache := ""
	have := 0 // keys in the cache
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		cache = filepath.Join(dir, "keys.pem")
		b, err := os.ReadFile(cache)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		for have < first+n {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if have >= first {
				keys = append(keys, pem.EncodeToMemory(blk))
			}
			have++
		}
	}
	if dir != "" && have < first {
		return nil, fmt.Errorf("key cache %s has %d keys, fewer than -first %d: fill it first (run once with -n %d)", cache, have, first, first+n)
	}
	cached := len(keys)
	keys = append(keys, make([][]byte, n-cached)...)
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
	if cache != "" && n > cached {
		f, err := os.OpenFile(cache, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("key cache: %w", err)
		}
		w := bufio.NewWriter(f)
		for _, k := range keys[cached:] {
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
	gs := gathererSettings{interval: o.interval, logLevel: "warn", maxConnections: o.n + 1000, handshakeTimeout: "30s",
		pprof: o.heapProfiles != "", honestFleet: o.attack == "", outputs: out}
	if o.attack != "" {
		gs.logLevel, gs.handshakeTimeout = "info", "10s" // as an operator runs it
	}
	if o.maxConnections > 0 {
		gs.maxConnections = o.maxConnections
	}
	hcl := gathererHCL(gs)
	if err := os.WriteFile(filepath.Join(dir, "gatherer.hcl"), hcl, 0o644); err != nil {
		cleanup()
		return target{}, err
	}
	cmd := exec.Command(bin, "gatherer", "-basedir", dir, "-create")
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
	// To a terminal the gatherer prints its furl; here (a pipe) the furl
	// file's path.
	f, err := furl.Parse(line)
	if err != nil {
		f, err = furl.ReadFile(strings.TrimSpace(line))
	}
	if err != nil {
		stop()
		return target{}, err
	}
	var status string
	for i := 0; i < 100 && status == ""; i++ {
		b, _ := os.ReadFile(filepath.Join(dir, basedir.StatusURLFile))
		status = strings.TrimSpace(string(b))
		if status == "" {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if status == "" {
		stop()
		return target{}, errors.New("the gatherer wrote no status.url")
	}
	return target{furl: f, furlFile: filepath.Join(dir, basedir.FurlFile), status: status, pid: cmd.Process.Pid,
		basedir: dir, scrape: scrape, stop: stop}, ctx.Err()
}

// saveHeapProfile writes the heap profile of the gatherer whose status
// page is at url (its `status { pprof = true }`) to path.
func saveHeapProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s (is status { pprof = true } set?)", req.URL, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// fetchStatus reads the gatherer's figures: no host list, no fleet view
// (which walks every node, and at 1,000 hosts cost the gatherer 8–10 ms
// of CPU and about 0.7 MB of garbage a read, some of it within the round
// being measured).
func fetchStatus(ctx context.Context, url string) (gatherer.Status, error) {
	var s gatherer.Status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"?t=json&hosts=0&fleet=0", nil)
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
