// Package process reports the memory a process uses, resident and
// virtual, as Tahoe-LAFS's tahoe_nodememory munin plugin showed it (VmRSS
// and VmSize from /proc/PID/status). The process is named by a pid, a
// pidfile (read again at every collect, so a restarted node is followed),
// or by default is the host that runs this producer.
package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

// Name is the producer's name in HCL.
const Name = "process"

type config struct {
	PID     int    `json:"pid"`
	PIDFile string `json:"pidfile"`
}

type producer struct {
	log hclog.Logger
	// procRoot is where proc(5) is mounted; hostPID names the host, the
	// parent of this plugin process. Tests replace both.
	procRoot string
	hostPID  func() int
	cfg      config
}

// New returns the process producer.
func New(log hclog.Logger) sdk.Producer {
	return &producer{log: log, procRoot: "/proc", hostPID: os.Getppid}
}

// fields maps the stat names to the /proc/PID/status lines they come from.
var fields = []struct{ stat, key string }{
	{"process.vmsize", "VmSize"},
	{"process.vmrss", "VmRSS"},
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        Name,
		Description: "Resident and virtual memory of a process (Tahoe's tahoe_nodememory: VmRSS and VmSize).",
		Stats: []sdk.StatInfo{
			{Name: "process.vmsize", Kind: sdk.Stat, Unit: "bytes", Description: "virtual memory size (VmSize)"},
			{Name: "process.vmrss", Kind: sdk.Stat, Unit: "bytes", Description: "resident set size (VmRSS)"},
		},
		Config: sdk.Schema{
			{Name: "pid", Type: sdk.Number, Description: "the process id to watch; default: the host"},
			{Name: "pidfile", Type: sdk.String, Description: "a file holding the process id (such as a Tahoe node's twistd.pid), read at every collect"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	if p.cfg.PID < 0 {
		return fmt.Errorf("process: pid is %d: want a process id above 0", p.cfg.PID)
	}
	if p.cfg.PID != 0 && p.cfg.PIDFile != "" {
		return errors.New("process: give pid or pidfile, not both")
	}
	return nil
}

// Check is Configure's dry run: Configure only decodes and checks, so the
// dry run is Configure on a scratch producer.
func (p *producer) Check(ctx context.Context, cfg sdk.Config) error {
	return (&producer{}).Configure(ctx, cfg)
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
		pid, err := parsePID(b)
		if err != nil {
			return 0, "", fmt.Errorf("pidfile %s: %w", p.cfg.PIDFile, err)
		}
		return pid, "pid " + strconv.Itoa(pid) + " from " + p.cfg.PIDFile, nil
	case p.cfg.PID != 0:
		return p.cfg.PID, "pid " + strconv.Itoa(p.cfg.PID), nil
	}
	pid := p.hostPID()
	return pid, "host pid " + strconv.Itoa(pid), nil
}

// parsePID reads a pidfile's content: a positive decimal number, possibly
// surrounded by white space.
func parsePID(b []byte) (int, error) {
	s := string(bytes.TrimSpace(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%.20q is not a process id", s)
	}
	return pid, nil
}

// parseStatus reads the "Key: N kB" lines of /proc/PID/status and returns
// them in bytes. Other lines are ignored.
func parseStatus(b []byte) map[string]int64 {
	out := map[string]int64{}
	for line := range bytes.Lines(b) {
		key, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		num, ok := bytes.CutSuffix(bytes.TrimSpace(rest), []byte(" kB"))
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSpace(num)), 10, 64)
		if err != nil || kb < 0 || kb > 1<<53 {
			continue
		}
		out[string(key)] = kb * 1024
	}
	return out
}

func (p *producer) Collect(context.Context) (sdk.Stats, error) {
	st := sdk.NewStats()
	for _, f := range fields {
		st.Stats[f.stat] = sdk.Null
	}
	pid, what, err := p.target()
	if err != nil {
		return st, err
	}
	b, err := readStatus(p.procRoot, pid)
	if err != nil {
		return st, fmt.Errorf("%s: %w", what, err)
	}
	vals := parseStatus(b)
	var missing []string
	for _, f := range fields {
		v, ok := vals[f.key]
		if !ok {
			missing = append(missing, f.key)
			continue
		}
		st.Stats[f.stat] = sdk.Int(v)
	}
	if missing != nil {
		return st, fmt.Errorf("%s: no %v in its status (a zombie or kernel thread?)", what, missing)
	}
	return st, nil
}

func (p *producer) Close(context.Context) error { return nil }

var _ sdk.Producer = (*producer)(nil)
