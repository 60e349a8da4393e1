// Package load_monitor measures how promptly the host's machine runs a
// process that wants to wake up every second, as Tahoe-LAFS's LoadMonitor
// measured its reactor: a goroutine sleeps one second at a time (interval)
// and records how late it woke. avg_load and max_load summarise the delays
// of the last minute (60 of them at the default interval).
package load_monitor

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

const (
	// Name is the producer's name in HCL.
	Name = "load_monitor"
	// defaultInterval is how long the monitor means to sleep each time,
	// unless configured: Tahoe's second.
	defaultInterval = time.Second
	// window is how far back the stats look: the delays of the last
	// window/interval wake-ups.
	window = time.Minute
)

type config struct {
	// WarnIfDelayExceeds: a wake-up later than this is logged.
	WarnIfDelayExceeds time.Duration `json:"warn_if_delay_exceeds"`
	// Interval is the sleep between two wake-ups.
	Interval time.Duration `json:"interval"`
}

// numSamples is how many delays the stats summarise: those of the last
// minute.
func (c config) numSamples() int { return max(1, int(window/c.Interval)) }

type producer struct {
	log hclog.Logger
	// now is the clock; sleep waits d, or returns false early when stop
	// is closed. Tests replace both.
	now   func() time.Time
	sleep func(stop <-chan struct{}, d time.Duration) bool

	cfg  config
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the loop has ended

	mu      sync.Mutex
	samples []float64 // delays in seconds, oldest first, at most cfg.numSamples()
}

// New returns the load_monitor producer. It starts nothing until Configure.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, now: time.Now, sleep: sleep}
}

func sleep(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "How late a timer in the producer process, set for every second, fires (Tahoe's LoadMonitor, which timed its own event loop so): scheduling delay as one process sees it, not the machine's load average (that is the system producer's system.load.*).",
		Stats: []sdk.StatInfo{
			{Name: "load_monitor.avg_load", Kind: sdk.Stat, Unit: "seconds", Description: "mean wake-up delay over the last minute's samples"},
			{Name: "load_monitor.max_load", Kind: sdk.Stat, Unit: "seconds", Description: "largest wake-up delay over the last minute's samples"},
		},
		Config: sdk.Schema{
			{Name: "warn_if_delay_exceeds", Type: sdk.Duration, Default: time.Second,
				Description: "log a warning when one wake-up is later than this"},
			{Name: "interval", Type: sdk.Duration, Default: defaultInterval,
				Description: "sleep between two wake-ups, 1s (Tahoe's) to 1m; the stats summarise the last minute's; each wake-up costs CPU"},
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
	// The loop outlives the Configure call: it runs until Close.
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop()
	return nil
}

// loop sleeps the interval at a time and records how late each wake-up
// was, until Close.
func (p *producer) loop() {
	defer close(p.done)
	last := p.now()
	for {
		if !p.sleep(p.stop, p.cfg.Interval) {
			return
		}
		now := p.now()
		delay := now.Sub(last) - p.cfg.Interval
		last = now
		if delay < 0 {
			delay = 0 // a clock step backwards is not negative load
		}
		if p.cfg.WarnIfDelayExceeds > 0 && delay > p.cfg.WarnIfDelayExceeds {
			p.log.Warn("excessive delay", "delay", delay)
		}
		p.record(delay.Seconds())
	}
}

func (p *producer) record(delay float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples = append(p.samples, delay)
	if n := p.cfg.numSamples(); len(p.samples) > n {
		p.samples = append(p.samples[:0], p.samples[len(p.samples)-n:]...)
	}
}

// summarize returns the mean and maximum of samples; both are 0 when
// there are none yet, as Tahoe reported.
func summarize(samples []float64) (avg, peak float64) {
	if len(samples) == 0 {
		return 0, 0
	}
	sum := 0.0
	for _, s := range samples {
		sum += s
		peak = max(peak, s)
	}
	return sum / float64(len(samples)), peak
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
