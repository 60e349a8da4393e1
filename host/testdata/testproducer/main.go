// Command testproducer is a producer plugin for the host's end-to-end
// tests. Its mode attribute makes it behave well or badly:
//
//   - "ok": answers with PREFIX.collects (counter), PREFIX.answer (42) and
//     PREFIX.half (0.5), PREFIX being its block label;
//   - "crash": exits in the middle of every Collect;
//   - "hang": never answers a Collect;
//   - "slow": answers a Collect after 2 s.
//
// spawn is a command Configure starts and leaves running.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

type config struct {
	Mode   string   `json:"mode"`
	Prefix string   `json:"prefix"`
	Spawn  []string `json:"spawn"`
}

type producer struct {
	cfg      config
	collects atomic.Int64
}

func (p *producer) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{
		Name:        "testproducer",
		Description: "a producer for the host's tests",
		Stats: []sdk.StatInfo{
			{Name: "PREFIX.collects", Kind: sdk.Counter},
			{Name: "PREFIX.answer", Kind: sdk.Stat},
			{Name: "PREFIX.half", Kind: sdk.Stat},
		},
		Config: sdk.Schema{
			{Name: "mode", Type: sdk.String, Default: "ok", Description: "ok, crash, hang or slow"},
			{Name: "spawn", Type: sdk.ListOfString, Default: []string{}, Description: "a command Configure starts and leaves running"},
			{Name: "prefix", Type: sdk.String, Description: "prefix of the stat names; default the block label"},
		},
	}, nil
}

func (p *producer) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	switch p.cfg.Mode {
	case "ok", "crash", "hang", "slow":
	default:
		return fmt.Errorf("mode %q: want ok, crash, hang or slow", p.cfg.Mode)
	}
	if len(p.cfg.Spawn) > 0 {
		cmd := exec.Command(p.cfg.Spawn[0], p.cfg.Spawn[1:]...)
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait()
	}
	if p.cfg.Prefix == "" {
		_, name, _ := strings.Cut(os.Getenv(sdk.EnvSelect), "/")
		p.cfg.Prefix = name
	}
	return nil
}

func (p *producer) Collect(ctx context.Context) (sdk.Stats, error) {
	switch p.cfg.Mode {
	case "crash":
		os.Exit(3)
	case "hang":
		time.Sleep(time.Hour)
	case "slow":
		time.Sleep(2 * time.Second)
	}
	n := p.collects.Add(1)
	return sdk.Stats{
		Counters: map[string]int64{p.cfg.Prefix + ".collects": n},
		Stats:    map[string]sdk.Value{p.cfg.Prefix + ".answer": sdk.Int(42), p.cfg.Prefix + ".half": sdk.Float(0.5)},
	}, nil
}

func (p *producer) Close(context.Context) error { return nil }

func main() {
	sdk.Serve(sdk.Plugins{Producers: map[string]func(hclog.Logger) sdk.Producer{
		"testproducer": func(hclog.Logger) sdk.Producer { return &producer{} },
	}})
}

var _ sdk.Producer = (*producer)(nil)
