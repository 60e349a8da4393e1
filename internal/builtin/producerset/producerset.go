// Package producerset lists the built-in producers and serves them from
// one process, apart from the built-in outputs, so that the small
// statsherd-producers binary (cmd/statsherd-producers) can serve the
// host's built-in producers without linking the gatherer, HCL and the
// outputs: the fewer packages a process links and initialises, the fewer
// pages of its executable it maps (docs/footprint.md).
package producerset

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/statsherd/statsherd/internal/reaper"
	"github.com/statsherd/statsherd/internal/trim"
	"github.com/statsherd/statsherd/producers/cpu_monitor"
	"github.com/statsherd/statsherd/producers/disk"
	"github.com/statsherd/statsherd/producers/exec"
	"github.com/statsherd/statsherd/producers/load_monitor"
	"github.com/statsherd/statsherd/producers/openmetrics"
	"github.com/statsherd/statsherd/producers/process"
	"github.com/statsherd/statsherd/producers/system"
	"github.com/statsherd/statsherd/producers/tahoe"
	"github.com/statsherd/statsherd/producers/upload_helper"
	"github.com/statsherd/statsherd/producers/uptime"
	"github.com/statsherd/statsherd/sdk"
)

// Producers lists the built-in producers, by the name used in HCL.
func Producers() map[string]func(hclog.Logger) sdk.Producer {
	return map[string]func(hclog.Logger) sdk.Producer{
		cpu_monitor.Name:   cpu_monitor.New,
		disk.Name:          disk.New,
		exec.Name:          exec.New,
		openmetrics.Name:   openmetrics.New,
		load_monitor.Name:  load_monitor.New,
		process.Name:       process.New,
		system.Name:        system.New,
		tahoe.Name:         tahoe.New,
		upload_helper.Name: upload_helper.New,
		uptime.Name:        uptime.New,
	}
}

// trimQuiet is how long after the last Configure or Collect the shared
// process considers its start-up, or a poll, over.
const trimQuiet = 10 * time.Second

// ServeShared serves every built-in producer from this one process until
// the host stops it (`statsherd plugin serve producer`, or
// statsherd-producers). The process owns its children: what a producer
// (the exec producer's commands) leaves behind is reaped here. Once its
// producers are configured, and again after each poll, it drops the pages
// of its executable it mapped (internal/trim).
func ServeShared(ctx context.Context) error {
	defer reaper.Start(ctx, nil)()
	t := trim.NewDebounced(trimQuiet, nil)
	ps := Producers()
	for n, f := range ps {
		ps[n] = func(log hclog.Logger) sdk.Producer { return trimming{f(log), t} }
	}
	return sdk.ServeShared(sdk.Plugins{Producers: ps}, sdk.KindProducer)
}

// trimming is a producer in a shared process whose Configure and Collect
// mark work that maps pages of the executable, so the process trims once
// start-up, and then each poll, is over.
type trimming struct {
	sdk.Producer
	t *trim.Debounced
}

func (p trimming) Configure(ctx context.Context, cfg sdk.Config) error {
	defer p.t.Kick()
	return p.Producer.Configure(ctx, cfg)
}

func (p trimming) Collect(ctx context.Context) (sdk.Stats, error) {
	defer p.t.Kick()
	return p.Producer.Collect(ctx)
}

var _ sdk.Producer = trimming{}
