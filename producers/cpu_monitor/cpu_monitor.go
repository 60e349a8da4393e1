// Package cpu_monitor reports the fraction of a CPU a process uses, as
// Tahoe-LAFS's CPUUsageMonitor did: a goroutine samples the process's CPU
// time once a minute, and the stats are the CPU seconds used per wall
// second over the last 1, 5 and 15 minutes, plus the total CPU seconds.
// The process is the host by default, or one named by pid or pidfile.
package cpu_monitor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/sleeper"
	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "cpu_monitor"

// historyWindow is the longest average reported.
const historyWindow = 15 * time.Minute

// minInterval bounds the history kept to historyWindow/minInterval samples.
const minInterval = 100 * time.Millisecond

type config struct {
	PID      int           `json:"pid"`
	PIDFile  string        `json:"pidfile"`
	Interval time.Duration `json:"interval"`
}

// sample is one reading: the process's CPU seconds at a wall time.
type sample struct {
	wall time.Time
	cpu  float64
}

// identity tells one process from another that later reuses its pid.
type identity struct {
	pid       int
	starttime uint64
}

type producer struct {
	log hclog.Logger
	// procRoot is where proc(5) is mounted, hostPID names the host (the
	// parent of this plugin process), now is the clock, clockTicks the
	// unit of /proc/PID/stat times. Tests replace them.
	procRoot   string
	hostPID    func() int
	now        func() time.Time
	clockTicks func() int64

	cfg   config
	ticks float64
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when the sampler has ended

	mu      sync.Mutex
	who     identity
	samples []sample // oldest first
	lastErr string   // the last sampling error logged, to log each once
}

// New returns the cpu_monitor producer. It starts sampling in Configure.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, procRoot: "/proc", hostPID: os.Getppid, now: time.Now, clockTicks: clockTicks}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "CPU used by one process (the host, or the node named by pid or pidfile) as a fraction of one CPU, 1/5/15 minute moving averages, and its total CPU seconds (Tahoe's CPUUsageMonitor); not the machine's CPU (that is the system producer's system.cpu.*).",
		Stats: []sdk.StatInfo{
			{Name: "cpu_monitor.1min_avg", Kind: sdk.Stat, Unit: "fraction of one CPU", Description: "CPU seconds per wall second over the last minute; null until a minute of samples exists"},
			{Name: "cpu_monitor.5min_avg", Kind: sdk.Stat, Unit: "fraction of one CPU", Description: "the same over the last 5 minutes"},
			{Name: "cpu_monitor.15min_avg", Kind: sdk.Stat, Unit: "fraction of one CPU", Description: "the same over the last 15 minutes"},
			{Name: "cpu_monitor.total", Kind: sdk.Stat, Unit: "seconds", Description: "CPU seconds (user + system) the process has used since it started"},
		},
		Config: sdk.Schema{
			{Name: "pid", Type: sdk.Number, Description: "the process id to watch; default: the host"},
			{Name: "pidfile", Type: sdk.String, Description: "a file holding the process id, read at every sample"},
			{Name: "interval", Type: sdk.Duration, Default: time.Minute, Description: "time between samples (Tahoe: 60s)"},
		},
	}, nil
}

// settings decodes and checks the block.
func settings(cfg sdk.Config) (config, error) {
	c := config{Interval: time.Minute}
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	switch {
	case c.PID < 0:
		return c, fmt.Errorf("cpu_monitor: pid is %d: want a process id above 0", c.PID)
	case c.PID != 0 && c.PIDFile != "":
		return c, errors.New("cpu_monitor: give pid or pidfile, not both")
	case c.Interval < minInterval:
		return c, fmt.Errorf("cpu_monitor: interval is %s: it must be at least %s", c.Interval, minInterval)
	}
	return c, nil
}

// Check is Configure's dry run: the block decodes and its values hold.
func (p *producer) Check(_ context.Context, cfg sdk.Config) error {
	_, err := settings(cfg)
	return err
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	if p.stop != nil {
		return errors.New("cpu_monitor: configured twice")
	}
	c, err := settings(cfg)
	if err != nil {
		return err
	}
	p.cfg = c
	p.ticks = float64(p.clockTicks())
	// The first sample is the baseline of the first averages.
	p.sampleAndLog()
	// The sampler outlives Configure: it runs until Close.
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return nil
}

func (p *producer) loop() {
	defer close(p.done)
	// A sleeper.Sleeper, not a time.Ticker: a minute's runtime timer in
	// an idle process fires up to 60 ms late and makes the runtime's
	// monitor thread spin meanwhile (docs/footprint.md). The samples
	// keep a ticker's rhythm: every Interval from the start, a tick
	// missed (a sample slower than Interval) skipped.
	s := sleeper.New(p.stop)
	defer s.Close()
	next := time.Now()
	for {
		next = next.Add(p.cfg.Interval)
		if now := time.Now(); next.Before(now) {
			next = now.Add(p.cfg.Interval - now.Sub(next)%p.cfg.Interval)
		}
		if !s.Sleep(time.Until(next)) {
			return
		}
		p.sampleAndLog()
	}
}

// sampleAndLog takes a sample and logs a failure once, not at every tick.
func (p *producer) sampleAndLog() {
	err := p.sample()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil && err.Error() != p.lastErr:
		p.log.Warn("cannot sample cpu time", "error", err)
		p.lastErr = err.Error()
	case err == nil && p.lastErr != "":
		p.log.Info("sampling cpu time again")
		p.lastErr = ""
	}
}

// sample reads the process's CPU time and appends it to the history. A
// different process (a restart) starts a new history.
func (p *producer) sample() error {
	who, cpu, err := p.read()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if who != p.who {
		p.who = who
		p.samples = p.samples[:0]
	}
	p.samples = append(p.samples, sample{wall: p.now(), cpu: cpu})
	if keep := int(historyWindow/p.cfg.Interval) + 1; len(p.samples) > keep {
		p.samples = append(p.samples[:0], p.samples[len(p.samples)-keep:]...)
	}
	return nil
}

// read returns the process watched and its CPU seconds.
func (p *producer) read() (identity, float64, error) {
	pid, what, err := p.target()
	if err != nil {
		return identity{}, 0, err
	}
	b, err := readStat(p.procRoot, pid)
	if err != nil {
		return identity{}, 0, fmt.Errorf("%s: %w", what, err)
	}
	ps, err := parseStat(b)
	if err != nil {
		return identity{}, 0, fmt.Errorf("%s: %w", what, err)
	}
	return identity{pid: pid, starttime: ps.starttime}, float64(ps.utime+ps.stime) / p.ticks, nil
}

// target returns the pid to watch and a description of where it came
// from, for errors.
func (p *producer) target() (int, string, error) {
	switch {
	case p.cfg.PIDFile != "":
		b, err := os.ReadFile(p.cfg.PIDFile)
		if err != nil {
			return 0, "", fmt.Errorf("reading pidfile: %w", err)
		}
		s := string(bytes.TrimSpace(b))
		pid, err := strconv.Atoi(s)
		if err != nil || pid <= 0 {
			return 0, "", fmt.Errorf("pidfile %s: %.20q is not a process id", p.cfg.PIDFile, s)
		}
		return pid, "pid " + s + " from " + p.cfg.PIDFile, nil
	case p.cfg.PID != 0:
		return p.cfg.PID, "pid " + strconv.Itoa(p.cfg.PID), nil
	}
	pid := p.hostPID()
	return pid, "host pid " + strconv.Itoa(pid), nil
}

// procStat is what cpu_monitor needs of /proc/PID/stat.
type procStat struct {
	utime, stime uint64 // clock ticks in user and kernel mode
	starttime    uint64 // clock ticks after boot the process started
}

// parseStat parses /proc/PID/stat. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat: no ')' after the command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime 15, starttime 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("malformed stat: %d fields after the command name, want at least 20", len(f))
	}
	var ps procStat
	for _, x := range []struct {
		dst *uint64
		idx int
	}{{&ps.utime, 11}, {&ps.stime, 12}, {&ps.starttime, 19}} {
		v, err := strconv.ParseUint(string(f[x.idx]), 10, 64)
		if err != nil {
			return procStat{}, fmt.Errorf("malformed stat field %d: %w", x.idx+3, err)
		}
		*x.dst = v
	}
	if ps.utime > 1<<52 || ps.stime > 1<<52 {
		return procStat{}, errors.New("malformed stat: cpu time out of range")
	}
	return ps, nil
}

// average is Tahoe's _average_N_minutes: the CPU fraction between the
// newest sample and the one n samples before it; false if the history is
// shorter.
func average(samples []sample, n int) (float64, bool) {
	if n < 1 || len(samples) < n+1 {
		return 0, false
	}
	first, last := samples[len(samples)-1-n], samples[len(samples)-1]
	wall := last.wall.Sub(first.wall).Seconds()
	if wall <= 0 {
		return 0, false
	}
	return (last.cpu - first.cpu) / wall, true
}

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	who, cpu, err := p.read()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range []struct {
		name   string
		window time.Duration
	}{{"1min_avg", time.Minute}, {"5min_avg", 5 * time.Minute}, {"15min_avg", 15 * time.Minute}} {
		n := max(int((w.window+p.cfg.Interval/2)/p.cfg.Interval), 1)
		st.Stats["cpu_monitor."+w.name] = sdk.Null
		// The history describes the process watched now, or none.
		if err == nil && who == p.who {
			if f, ok := average(p.samples, n); ok {
				st.Stats["cpu_monitor."+w.name] = sdk.Float(f)
			}
		}
	}
	st.Stats["cpu_monitor.total"] = sdk.Null
	if err != nil {
		return st, err
	}
	st.Stats["cpu_monitor.total"] = sdk.Float(cpu)
	return st, nil
}

func (p *producer) Close(context.Context) error {
	// p.done is cleared so that a second Close does nothing; p.stop
	// stays set, so that the producer cannot be configured again.
	if p.done != nil {
		close(p.stop)
		<-p.done
		p.done = nil
	}
	return nil
}

var _ sdk.Producer = (*producer)(nil)
