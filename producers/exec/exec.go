// Package exec runs a command at every collect and reads its output as
// stats, one "name value" line each, so any script can be a producer. The
// names listed in counters are counters; every other name is a stat.
package exec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "exec"

// maxOutput bounds what is read of a command's standard output.
const maxOutput = 1 << 20

// maxLineErrors is how many bad lines one collect reports in detail.
const maxLineErrors = 5

type config struct {
	Command  []string      `json:"command"`
	Timeout  time.Duration `json:"command_timeout"`
	Counters []string      `json:"counters"`
}

type producer struct {
	log hclog.Logger
	// run runs argv under ctx and returns its standard output; tests
	// replace it.
	run      func(ctx context.Context, argv []string) ([]byte, error)
	cfg      config
	counters map[string]bool
}

// New returns the exec producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, run: run}
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "Runs a command at every collect and reads \"name value\" lines from its output.",
		// The stats are whatever the command prints: none is fixed.
		Stats: []sdk.StatInfo{},
		Config: sdk.Schema{
			{Name: "command", Type: sdk.ListOfString, Required: true, Description: "the program and its arguments, run without a shell"},
			{Name: "command_timeout", Type: sdk.Duration, Default: 10 * time.Second, Description: "the command is killed if it runs longer (and always before the host's deadline for the collect)"},
			{Name: "counters", Type: sdk.ListOfString, Default: []string{}, Description: "names the command prints that are counters; every other name is a stat"},
		},
	}, nil
}

func (p *producer) Configure(ctx context.Context, cfg sdk.Config) error {
	if err := p.Check(ctx, cfg); err != nil {
		return err
	}
	p.cfg = config{Timeout: 10 * time.Second}
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	p.counters = make(map[string]bool, len(p.cfg.Counters))
	for _, c := range p.cfg.Counters {
		p.counters[c] = true
	}
	return nil
}

// Check is Configure's dry run: the block decodes and its values hold.
func (p *producer) Check(_ context.Context, cfg sdk.Config) error {
	c := config{Timeout: 10 * time.Second}
	if err := cfg.Decode(&c); err != nil {
		return err
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		return errors.New("exec: command is required: give the program and its arguments, such as [\"/usr/local/bin/queue-stats\", \"--all\"]")
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("exec: command_timeout is %s: it must be positive", c.Timeout)
	}
	for _, n := range c.Counters {
		if err := sdk.ValidName(n); err != nil {
			return fmt.Errorf("exec: counters: %w", err)
		}
	}
	return nil
}

func (p *producer) Collect(ctx context.Context) (sdk.Stats, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout(ctx, p.cfg.Timeout))
	defer cancel()
	out, runErr := p.run(ctx, p.cfg.Command)
	if runErr != nil {
		runErr = fmt.Errorf("running %s: %w", p.cfg.Command[0], runErr)
	}
	// Lines printed before a failure are still good stats.
	st, parseErr := parseOutput(out, p.counters)
	if parseErr != nil {
		parseErr = fmt.Errorf("output of %s: %w", p.cfg.Command[0], parseErr)
	}
	return st, errors.Join(runErr, parseErr)
}

// commandTimeout is the configured timeout, shortened to end before the
// host's deadline for the whole collect (the block's timeout), so that a
// hanging command costs a reported error and the lines it printed, not a
// collect the host gives up on and a plugin it restarts.
func commandTimeout(ctx context.Context, configured time.Duration) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return configured
	}
	left := time.Until(dl)
	return max(min(configured, left-left/10-50*time.Millisecond), time.Millisecond)
}

// parseOutput reads "name value" lines. Blank lines and lines starting
// with # are skipped. A counter's value is a non-negative integer; a
// stat's is an integer, a float, or null ("null", "U" or "NaN"). Good lines
// are kept even when others are bad; the bad ones are reported by line
// number.
func parseOutput(b []byte, counters map[string]bool) (sdk.Stats, error) {
	st := sdk.NewStats()
	var errs []string
	bad := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxOutput)
	for n := 1; sc.Scan(); n++ {
		if err := parseLine(sc.Text(), counters, st); err != nil {
			bad++
			if len(errs) < maxLineErrors {
				errs = append(errs, fmt.Sprintf("line %d: %v", n, err))
			}
		}
	}
	if err := sc.Err(); err != nil {
		bad++
		errs = append(errs, err.Error())
	}
	if bad == 0 {
		return st, nil
	}
	if bad > len(errs) {
		errs = append(errs, fmt.Sprintf("and %d more bad lines", bad-len(errs)))
	}
	return st, errors.New(strings.Join(errs, "; "))
}

func parseLine(line string, counters map[string]bool, st sdk.Stats) error {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return nil
	}
	f := strings.Fields(line)
	if len(f) != 2 {
		return fmt.Errorf("want \"name value\", got %.60q", line)
	}
	name, val := f[0], f[1]
	if err := sdk.ValidName(name); err != nil {
		return err
	}
	if counters[name] {
		c, err := strconv.ParseInt(val, 10, 64)
		if err != nil || c < 0 {
			return fmt.Errorf("counter %s: %.30q is not a non-negative integer", name, val)
		}
		st.Counters[name] = c
		return nil
	}
	v, err := parseValue(val)
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	st.Stats[name] = v
	return nil
}

func parseValue(s string) (sdk.Value, error) {
	switch s {
	case "null", "U", "NaN", "nan":
		return sdk.Null, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return sdk.Int(i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || sdk.Float(f).IsNull() {
		return sdk.Null, fmt.Errorf("%.30q is not a finite number", s)
	}
	return sdk.Float(f), nil
}

func (p *producer) Close(context.Context) error { return nil }

var _ sdk.Producer = (*producer)(nil)
