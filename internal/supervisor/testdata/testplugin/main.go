// Command testplugin is a producer and an output whose misbehaviour is set
// by its config, for the supervisor's tests.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/sdk"
)

type config struct {
	// Stats is how many stats Collect returns.
	Stats int `json:"stats"`
	// CrashOnceFile: if this file does not exist, create it and crash in
	// the middle of Collect.
	CrashOnceFile string `json:"crash_once_file"`
	// Hang makes Collect and Write never return.
	Hang bool `json:"hang"`
	// Fail makes Collect return an error (the plugin stays up).
	Fail bool `json:"fail"`
	// Every is a duration, to check durations reach the plugin.
	Every time.Duration `json:"every"`
	// WriteFile receives one line per Write.
	WriteFile string `json:"write_file"`
	// Crash makes every Collect crash.
	Crash bool `json:"crash"`
	// Spawn is a command Configure starts and leaves running.
	Spawn []string `json:"spawn"`
}

type testPlugin struct {
	log   hclog.Logger
	cfg   config
	names []string
	n     int64
}

func (p *testPlugin) Describe(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "testplugin", Version: "1.0", Config: sdk.Schema{
		{Name: "stats", Type: sdk.Number, Default: 10},
		{Name: "crash_once_file", Type: sdk.String},
		{Name: "hang", Type: sdk.Bool},
		{Name: "fail", Type: sdk.Bool},
		{Name: "every", Type: sdk.Duration, Default: time.Minute},
		{Name: "write_file", Type: sdk.String},
		{Name: "crash", Type: sdk.Bool},
		{Name: "spawn", Type: sdk.ListOfString},
	}}, nil
}

func (p *testPlugin) Configure(_ context.Context, cfg sdk.Config) error {
	if err := cfg.Decode(&p.cfg); err != nil {
		return err
	}
	for i := 0; i < p.cfg.Stats; i++ {
		p.names = append(p.names, fmt.Sprintf("test.stat_%d", i))
	}
	if len(p.cfg.Spawn) > 0 {
		cmd := exec.Command(p.cfg.Spawn[0], p.cfg.Spawn[1:]...)
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait()
	}
	p.log.Info("configured", "stats", p.cfg.Stats, "every", p.cfg.Every)
	return nil
}

func (p *testPlugin) misbehave(ctx context.Context) error {
	if p.cfg.CrashOnceFile != "" {
		if _, err := os.Stat(p.cfg.CrashOnceFile); errors.Is(err, os.ErrNotExist) {
			_ = os.WriteFile(p.cfg.CrashOnceFile, nil, 0o644)
			panic("crashing on purpose")
		}
	}
	if p.cfg.Crash {
		os.Exit(3)
	}
	if p.cfg.Hang {
		select {} // never returns, even when ctx is done
	}
	if p.cfg.Fail {
		return errors.New("failing on purpose")
	}
	return nil
}

func (p *testPlugin) Collect(ctx context.Context) (sdk.Stats, error) {
	if err := p.misbehave(ctx); err != nil {
		return sdk.Stats{}, err
	}
	p.n++
	st := sdk.Stats{Counters: map[string]int64{"test.collects": p.n}, Stats: make(map[string]sdk.Value, len(p.names))}
	for i, name := range p.names {
		if i%2 == 0 {
			st.Stats[name] = sdk.Int(int64(i))
		} else {
			st.Stats[name] = sdk.Float(float64(i) + 0.5)
		}
	}
	st.Stats["test.pid"] = sdk.Int(int64(os.Getpid()))
	return st, nil
}

func (p *testPlugin) Write(ctx context.Context, r sdk.Round) error {
	if err := p.misbehave(ctx); err != nil {
		return err
	}
	if p.cfg.WriteFile == "-" {
		fmt.Printf("round nodes=%d\n", len(r.Nodes))
		return nil
	}
	if p.cfg.WriteFile != "" {
		f, err := os.OpenFile(p.cfg.WriteFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "round nodes=%d\n", len(r.Nodes))
		return err
	}
	return nil
}

func (p *testPlugin) Close(context.Context) error { return nil }

func main() {
	// As a plugin built with an SDK before statsherd's own mutual TLS:
	// it does not take the key on its descriptor, and go-plugin answers
	// with AutoMTLS.
	if os.Getenv("TESTPLUGIN_AUTOMTLS") != "" {
		os.Unsetenv("STATSHERD_PLUGIN_TLS_FD")
	}
	sdk.Serve(sdk.Plugins{
		Producers: map[string]func(hclog.Logger) sdk.Producer{
			"testplugin": func(l hclog.Logger) sdk.Producer { return &testPlugin{log: l} },
		},
		Outputs: map[string]func(hclog.Logger) sdk.Output{
			"testplugin": func(l hclog.Logger) sdk.Output { return &testPlugin{log: l} },
		},
	})
}
