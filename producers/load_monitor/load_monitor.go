// Package load_monitor measures how promptly the host's machine runs a
// process that wants to wake up every second, as Tahoe-LAFS's LoadMonitor
// measured its reactor: a goroutine sleeps one second at a time (interval)
// and records how late it woke. avg_load and max_load summarise the delays
// of the last minute (60 of them at Tahoe's second).
//
// A wake-up costs CPU (on a 2-core VM about 0.1 ms across the threads it
// touches: a second's wake-ups cost more than collectd's whole idle minute,
// docs/footprint.md). So while every wake-up of the last minute was on time
// (and at first) the goroutine sleeps idle_interval (10 s) instead; a
// wake-up late by lateDelay or more brings back the one-second sleep for a
// minute. The mean weights each delay by the sleep it ended, so that it
// estimates the same mean delay whichever the sleeps were.
package load_monitor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/sleeper"
	"github.com/statsherd/statsherd/sdk"
)

const (
	// Name is the producer's name in HCL.
	Name = "load_monitor"
	// defaultInterval is how long the monitor sleeps each time while a
	// wake-up of the last minute was late, unless configured: Tahoe's
	// second.
	defaultInterval = time.Second
	// defaultIdleInterval is how long it sleeps while none was.
	defaultIdleInterval = 10 * time.Second
	// lateDelay is how late a wake-up must be to count as late. On a
	// quiet 2-core VM, 240 wake-ups of a Go timer set for every second
	// were late by 0.1 ms (median), 0.3 (90th percentile), 3.9 (99th) and
	// 10.9 at most (docs/footprint.md): 10 ms is more than a few time
	// slices of other tasks, and rare enough on a quiet machine that it
	// keeps sleeping idle_interval.
	lateDelay = 10 * time.Millisecond
	// window is how far back the stats look: the wake-ups whose sleeps
	// add up to the last minute.
	window = time.Minute
)

type config struct {
	// WarnIfDelayExceeds: a wake-up later than this is logged.
	WarnIfDelayExceeds time.Duration `json:"warn_if_delay_exceeds"`
	// Interval is the sleep between two wake-ups while one of the last
	// minute was late.
	Interval time.Duration `json:"interval"`
	// IdleInterval is the sleep while none was; 0 until decoded means
	// the larger of defaultIdleInterval and Interval.
	IdleInterval time.Duration `json:"idle_interval"`
}

// sample is one wake-up: how late it was, and the sleep it ended.
type sample struct {
	delay float64 // seconds
	slept time.Duration
}

type producer struct {
	log hclog.Logger
	// now is the clock; sleep waits d, or returns false early when stop
	// is closed: nil for a sleeper.Sleeper (a timerfd on Linux, so that a
	// 10 s sleep neither fires up to 10 ms late, which would count as a
	// late wake-up, nor makes the runtime's monitor thread spin while it
	// is). Tests replace both.
	now   func() time.Time
	sleep func(stop <-chan struct{}, d time.Duration) bool

	cfg  config
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the loop has ended

	mu      sync.Mutex
	samples []sample  // oldest first, their sleeps adding up to at most window
	busy    time.Time // until when the loop sleeps Interval: a minute after the last late wake-up, zero before one
}

// New returns the load_monitor producer. It starts nothing until Configure.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, now: time.Now}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "How late a timer in the producer process, set for every second (every 10 s while none is late), fires (Tahoe's LoadMonitor, which timed its own event loop so): scheduling delay as one process sees it, not the machine's load average (that is the system producer's system.load.*).",
		Stats: []sdk.StatInfo{
			{Name: "load_monitor.avg_load", Kind: sdk.Stat, Unit: "seconds", Description: "mean wake-up delay over the last minute's samples, each weighted by the sleep it ended"},
			{Name: "load_monitor.max_load", Kind: sdk.Stat, Unit: "seconds", Description: "largest wake-up delay over the last minute's samples"},
		},
		Config: sdk.Schema{
			{Name: "warn_if_delay_exceeds", Type: sdk.Duration, Default: time.Second,
				Description: "log a warning when one wake-up is later than this"},
			{Name: "interval", Type: sdk.Duration, Default: defaultInterval,
				Description: "sleep between two wake-ups for a minute after a late one, 1s (Tahoe's) to 1m"},
			{Name: "idle_interval", Type: sdk.Duration, Default: defaultIdleInterval,
				Description: "sleep between two wake-ups while none of the last minute was late (10 ms or more), interval to 1m; set it to interval to wake every interval always, as Tahoe did; each wake-up costs CPU"},
		},
	}, nil
}

// Check is Configure's dry run: the block decodes.
func (p *producer) Check(_ context.Context, cfg sdk.Config) error {
	c := config{WarnIfDelayExceeds: time.Second}
	return cfg.Decode(&c)
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	if p.stop != nil {
		return fmt.Errorf("load_monitor: configured twice")
	}
	p.cfg = config{WarnIfDelayExceeds: time.Second, Interval: defaultInterval}
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	if p.cfg.Interval < time.Second || p.cfg.Interval > window {
		return fmt.Errorf("load_monitor: interval is %s: it must be from 1s to 1m", p.cfg.Interval)
	}
	if p.cfg.IdleInterval == 0 {
		p.cfg.IdleInterval = max(defaultIdleInterval, p.cfg.Interval)
	}
	if p.cfg.IdleInterval < p.cfg.Interval || p.cfg.IdleInterval > window {
		return fmt.Errorf("load_monitor: idle_interval is %s: it must be from interval (%s) to 1m", p.cfg.IdleInterval, p.cfg.Interval)
	}
	// The loop outlives the Configure call: it runs until Close.
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return nil
}

// loop sleeps (nextSleep) and records how late each wake-up was, until
// Close.
func (p *producer) loop() {
	defer close(p.done)
	sleep := p.sleep
	if sleep == nil {
		s := sleeper.New(p.stop)
		defer s.Close()
		sleep = func(_ <-chan struct{}, d time.Duration) bool { return s.Sleep(d) }
	}
	last := p.now()
	for {
		d := p.nextSleep(last)
		if !sleep(p.stop, d) {
			return
		}
		now := p.now()
		delay := now.Sub(last) - d
		last = now
		if delay < 0 {
			delay = 0 // a clock step backwards is not negative load
		}
		if p.cfg.WarnIfDelayExceeds > 0 && delay > p.cfg.WarnIfDelayExceeds {
			p.log.Warn("excessive delay", "delay", delay)
		}
		p.record(now, sample{delay: delay.Seconds(), slept: d})
	}
}

// nextSleep is Interval until a minute after the last late wake-up,
// IdleInterval before the first and after that.
func (p *producer) nextSleep(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Before(p.busy) {
		return p.cfg.Interval
	}
	return p.cfg.IdleInterval
}

// record keeps s, drops the samples older than the last window of
// sleeps, and marks a late wake-up (woken at now).
func (p *producer) record(now time.Time, s sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.delay >= lateDelay.Seconds() {
		p.busy = now.Add(window)
	}
	p.samples = append(p.samples, s)
	var covered time.Duration
	keep := len(p.samples)
	for i := len(p.samples) - 1; i >= 0; i-- {
		covered += p.samples[i].slept
		if covered > window && i < len(p.samples)-1 {
			break
		}
		keep = i
	}
	if keep > 0 {
		p.samples = append(p.samples[:0], p.samples[keep:]...)
	}
}

// summarize returns the mean of the samples' delays, each weighted by
// the sleep it ended (with one sleep throughout, the plain mean), and
// their maximum; both are 0 when there are none yet, as Tahoe reported.
func summarize(samples []sample) (avg, peak float64) {
	if len(samples) == 0 {
		return 0, 0
	}
	var sum, weight float64
	for _, s := range samples {
		w := s.slept.Seconds()
		sum += s.delay * w
		weight += w
		peak = max(peak, s.delay)
	}
	return sum / weight, peak
}

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	p.mu.Lock()
	avg, peak := summarize(p.samples)
	p.mu.Unlock()
	st := sdk.NewStats()
	st.Stats["load_monitor.avg_load"] = sdk.Float(avg)
	st.Stats["load_monitor.max_load"] = sdk.Float(peak)
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
